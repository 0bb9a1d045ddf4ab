"""Object storage through SWS's API on the simulated store, with its storage firewall.

The simulated store enforces the rules with the proxy middleware's own engine
(`sws_swift.rules` + `LocalCounters`) on the cloud's SimulatedClock, so limits can be walked
across their windows exactly. The client address is the TestClient's `client` tuple.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from sws.billing import service as billing
from sws.storagefw.service import StorageBilling, gb_month
from tests.api.conftest import Cloud

C = "/v1/storage/containers"
CATALOG = Path(billing.__file__).with_name("prices.yaml")


def client_at(cloud: Cloud, address: str) -> TestClient:
    """The same API, seen from `address`."""
    return TestClient(cloud.client.app, client=(address, 40000), raise_server_exceptions=False)


def fetch(cloud: Cloud, address: str, path: str) -> Any:
    return client_at(cloud, address).get(f"{C}/{path}", headers=cloud.acme.headers)


def make_container(cloud: Cloud, name: str = "photos") -> None:
    response = cloud.client.post(C, json={"name": name}, headers=cloud.acme.headers)
    assert response.status_code == 201, response.text


def put(client: TestClient, cloud: Cloud, name: str, data: bytes, container: str = "photos") -> Any:
    return client.put(
        f"{C}/{container}/objects/{name}", content=data, headers=cloud.acme.headers
        | {"content-type": "text/plain"},
    )


def set_firewall(cloud: Cloud, body: dict[str, Any], container: str = "photos") -> Any:
    return cloud.client.put(f"{C}/{container}/firewall", json=body, headers=cloud.acme.headers)


def test_containers_and_objects(cloud: Cloud) -> None:
    make_container(cloud)
    created = put(cloud.client, cloud, "docs/a.txt", b"hello")
    assert created.status_code == 201, created.text
    assert created.json()["etag"] == "5d41402abc4b2a76b9719d911017c592"
    put(cloud.client, cloud, "b.txt", b"world!")
    listing = cloud.client.get(C, headers=cloud.acme.headers).json()["items"]
    assert listing == [{"name": "photos", "object_count": 2, "bytes": 11,
                        "firewall": "/v1/storage/containers/photos/firewall"}]
    got = cloud.client.get(f"{C}/photos/objects/docs/a.txt", headers=cloud.acme.headers)
    assert (got.status_code, got.content, got.headers["content-type"]) == (
        200, b"hello", "text/plain"
    )
    names = cloud.client.get(f"{C}/photos/objects?prefix=docs/", headers=cloud.acme.headers)
    assert [o["name"] for o in names.json()["items"]] == ["docs/a.txt"]
    assert put(cloud.client, cloud, "b.txt", b"!").status_code == 201  # overwrite
    info = cloud.client.get(f"{C}/photos", headers=cloud.acme.headers).json()
    assert (info["object_count"], info["bytes"]) == (2, 6)


def test_a_container_is_deleted_only_when_empty(cloud: Cloud) -> None:
    make_container(cloud)
    put(cloud.client, cloud, "o", b"x")
    refused = cloud.client.delete(f"{C}/photos", headers=cloud.acme.headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    cloud.client.delete(f"{C}/photos/objects/o", headers=cloud.acme.headers)
    assert cloud.client.delete(f"{C}/photos", headers=cloud.acme.headers).status_code == 204
    assert cloud.client.get(f"{C}/photos", headers=cloud.acme.headers).status_code == 404


def test_container_names_are_per_tenant_and_checked(cloud: Cloud) -> None:
    make_container(cloud)
    again = cloud.client.post(C, json={"name": "photos"}, headers=cloud.acme.headers)
    assert again.status_code == 409
    theirs = cloud.client.post(C, json={"name": "photos"}, headers=cloud.globex.headers)
    assert theirs.status_code == 201  # globex has its own namespace
    bad = cloud.client.post(C, json={"name": "a/b"}, headers=cloud.acme.headers)
    assert (bad.status_code, bad.json()["field"]) == (422, "name")
    foreign = cloud.client.get(f"{C}/photos/objects/x", headers=cloud.globex.headers)
    assert foreign.status_code == 404


def test_firewall_round_trip(cloud: Cloud) -> None:
    make_container(cloud)
    body = {
        "allow": ["203.0.113.7/24"], "deny": ["2001:db8::1"], "exclusive": False,
        "limits": [{"kind": "requests", "window": 300, "amount": 5000},
                   {"kind": "mb", "window": 86400, "amount": 100}],
    }
    stored = set_firewall(cloud, body)
    assert stored.status_code == 200, stored.text
    assert stored.json()["allow"] == ["203.0.113.0/24"]  # host bits cleared
    assert stored.json()["deny"] == ["2001:db8::1/128"]
    got = cloud.client.get(f"{C}/photos/firewall", headers=cloud.acme.headers).json()
    assert got == stored.json()
    assert set_firewall(cloud, {}).json() == {"allow": [], "deny": [], "exclusive": False,
                                              "limits": []}


def test_bad_firewall_input_is_refused_and_nothing_is_written(cloud: Cloud) -> None:
    make_container(cloud)
    set_firewall(cloud, {"deny": ["192.0.2.1"]})
    too_many = [f"10.0.{i // 256}.{i % 256}" for i in range(101)]
    cases = [
        ({"allow": too_many}, "allow"),
        ({"deny": ["10.0.0.0/33"]}, "deny[0]"),
        ({"deny": ["192.0.2.1", "not-an-ip"]}, "deny[1]"),
        ({"limits": [{"kind": "requests", "window": 300, "amount": 0}]}, "limits.requests/300"),
        ({"limits": [{"kind": "mb", "window": 600, "amount": 5}]}, "limits.mb/600"),
        ({"exclusive": True}, "exclusive"),
    ]
    for body, field in cases:
        response = set_firewall(cloud, body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["field"] == field, response.json()
    assert set_firewall(cloud, {"allow": too_many[:100]}).status_code == 200  # 100 is fine
    unknown = set_firewall(cloud, {"allow": [], "whitelist": []})
    assert unknown.status_code == 422


def test_blacklisted_client_is_refused_and_whitelist_wins(cloud: Cloud) -> None:
    make_container(cloud)
    put(cloud.client, cloud, "o", b"data")
    set_firewall(cloud, {"deny": ["203.0.113.0/24", "2001:db8::/32"]})
    for address in ("203.0.113.9", "2001:db8::5"):
        refused = client_at(cloud, address).get(f"{C}/photos/objects/o", headers=cloud.acme.headers)
        assert refused.status_code == 403
        assert "blacklist entry" in refused.json()["detail"]
    other = fetch(cloud, "198.51.100.1", "photos/objects/o")
    assert other.content == b"data"
    set_firewall(cloud, {"allow": ["203.0.113.9"], "deny": ["203.0.113.0/24"]})
    listed = fetch(cloud, "203.0.113.9", "photos/objects/o")
    assert listed.status_code == 200
    set_firewall(cloud, {"allow": ["198.51.100.0/24"], "exclusive": True})
    refused = client_at(cloud, "192.0.2.1").get(f"{C}/photos/objects/o", headers=cloud.acme.headers)
    assert "exclusive whitelist" in refused.json()["detail"]
    # Management is not behind the firewall: the owner can always fix the rules.
    assert client_at(cloud, "192.0.2.1").get(f"{C}/photos", headers=cloud.acme.headers).is_success


def test_request_limit_trips_at_n_plus_one_and_resets_with_the_window(cloud: Cloud) -> None:
    make_container(cloud)
    put(cloud.client, cloud, "o", b"x")
    set_firewall(cloud, {"limits": [{"kind": "requests", "window": 300, "amount": 3}]})
    client = client_at(cloud, "198.51.100.7")
    url = f"{C}/photos/objects/o"
    assert [client.get(url, headers=cloud.acme.headers).status_code for _ in range(3)] == [200] * 3
    refused = client.get(url, headers=cloud.acme.headers)  # 10:27:00, the window ends 10:30
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "180"
    assert "requests limit 3 requests per 5 minutes" in refused.json()["detail"]
    other = client_at(cloud, "198.51.100.8").get(url, headers=cloud.acme.headers)
    assert other.status_code == 200  # per source IP
    cloud.clock.advance(timedelta(seconds=179))
    assert client.get(url, headers=cloud.acme.headers).status_code == 429
    cloud.clock.advance(timedelta(seconds=1))
    assert client.get(url, headers=cloud.acme.headers).status_code == 200


def test_traffic_limit_counts_uploads_and_downloads(cloud: Cloud) -> None:
    make_container(cloud)
    set_firewall(cloud, {"limits": [{"kind": "mb", "window": 300, "amount": 1}]})
    client = client_at(cloud, "198.51.100.7")
    assert put(client, cloud, "big", b"p" * 600_000).status_code == 201  # 0.6 MB
    got = client.get(f"{C}/photos/objects/big", headers=cloud.acme.headers)
    assert len(got.content) == 600_000  # 1.2 MB: this one completes
    refused = client.get(f"{C}/photos/objects/big", headers=cloud.acme.headers)
    assert refused.status_code == 429
    assert "mb limit 1 MB per 5 minutes" in refused.json()["detail"]


def test_usage_for_billing_is_exact(cloud: Cloud) -> None:
    make_container(cloud)  # 10:27:00
    cloud.clock.advance(timedelta(seconds=30))
    put(cloud.client, cloud, "gb", b"g" * 1_000_000)  # 10:27:30
    cloud.clock.advance(timedelta(hours=1, minutes=2, seconds=30))  # 11:30:00
    cloud.client.get(f"{C}/photos/objects/gb", headers=cloud.acme.headers)
    client_at(cloud, "192.0.2.1").get(f"{C}/photos/objects/missing", headers=cloud.acme.headers)
    store = cloud.container.object_store()
    start = datetime(2026, 3, 2, tzinfo=UTC)
    rows = {u.hour_start.hour: u for u in store.usage(start=start, end=start + timedelta(days=1))}
    assert rows[10].byte_seconds == 1_000_000 * (60 * 60 - 27 * 60 - 30)  # 10:27:30 to 11:00
    assert (rows[10].requests, rows[10].bytes_in, rows[10].bytes_out) == (1, 1_000_000, 0)
    assert rows[11].byte_seconds == 1_000_000 * 30 * 60  # 11:00 to now (11:30)
    assert (rows[11].requests, rows[11].bytes_out) == (1, 1_000_000)  # the 404 is not usage
    assert all(u.project_id == cloud.acme.id and u.container == "photos" for u in rows.values())
    billed = list(StorageBilling(cloud.container.object_stores).storage(
        start=start, end=start + timedelta(days=1)))
    assert sum(u.gb_month for u in billed) == Decimal(1_000_000 * 3750) / (10**9 * 31 * 86400)
    assert [u.bytes_out for u in billed] == [0, 1_000_000]  # the GET's body, in its hour
    assert gb_month(10**9 * 31 * 86400, start) == 1  # 1 GB kept all March is one GB-month


def test_egress_is_on_the_bill_as_object_storage_gb_out(cloud: Cloud) -> None:
    billing.load_catalog_text(db=cloud.container.db, clock=cloud.clock,
                              text=CATALOG.read_text())
    make_container(cloud)  # 10:27
    put(cloud.client, cloud, "video", b"v" * 8_000_000)
    for _ in range(5):  # 40 MB out
        got = cloud.client.get(f"{C}/photos/objects/video", headers=cloud.acme.headers)
        assert len(got.content) == 8_000_000
    for _ in range(2):  # 12:27: the 10:00 hour is complete and rated
        cloud.settle(3600)
    bill = cloud.client.get("/v1/billing/bills/2026-03", headers=cloud.acme.headers).json()
    egress = [x for x in bill["lines"] if x["item_type"] == "gb_out"]
    assert [(x["type"], x["resource_name"], x["price"], x["total"]) for x in egress] == [
        ("object_storage", "photos", "0.800000", "0.03")  # 0.04 GB x 0.80 = 0.032
    ]
    assert Decimal(egress[0]["quantity"]) == Decimal("0.04")
    # GB-months and the 6 requests round to 0.00: the container's column is its egress.
    assert (Decimal(bill["object_storage"]), Decimal(bill["bandwidth"])) == (Decimal("0.03"), 0)


def test_object_size_is_capped_here(cloud: Cloud) -> None:
    make_container(cloud)
    response = put(cloud.client, cloud, "huge", b"x" * (8 * 1024 * 1024 + 1))
    assert (response.status_code, response.json()["field"]) == (422, "body")


def test_a_region_without_object_storage_says_so(cloud: Cloud) -> None:
    # what a real OpenStack region without an SWS_SWIFT entry looks like: a cloud, no store
    cloud.container.stores.pop("RegionOne")
    for method, path in (("GET", C), ("POST", C), ("GET", f"{C}/photos/firewall")):
        body = {"name": "photos"} if method == "POST" else None
        answer = cloud.client.request(method, path, json=body, headers=cloud.acme.headers)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["detail"] == "this region (RegionOne) has no object storage"
        assert problem["field"] == "X-SWS-Region"
    unknown = cloud.client.get(C, headers=cloud.acme.headers | {"X-SWS-Region": "Atlantis"})
    assert unknown.status_code == 422 and "unknown region 'Atlantis'" in unknown.json()["detail"]
