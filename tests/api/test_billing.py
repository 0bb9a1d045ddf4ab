"""Billing through the API: account, bills and CSV, prices, admin money, bad input, 402."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from sws.billing import service as billing
from sws.billing.tables import billing_coupons, billing_ledger, billing_products
from tests.api.conftest import Cloud

CATALOG = Path(billing.__file__).with_name("prices.yaml")
KEY = {"idempotency_key": "bad-input"}


def _catalog(cloud: Cloud) -> None:
    billing.load_catalog_text(db=cloud.container.db, clock=cloud.clock, text=CATALOG.read_text())


def _top_up(cloud: Cloud, amount: str, key: str = "t1") -> Any:
    body = {"amount": amount, "currency": "CNY", "idempotency_key": key}
    response = cloud.client.post(
        f"/v1/admin/billing/{cloud.acme.id}/topups", json=body, headers=cloud.admin
    )
    assert response.status_code == 201, response.text
    return response.json()


def _hours(cloud: Cloud, hours: int) -> None:
    for _ in range(hours):
        cloud.settle(3600)


def _counts(cloud: Cloud) -> tuple[int, int, int]:
    with cloud.container.db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (billing_ledger, billing_products, billing_coupons)
        )


def test_account_shows_balance_coupons_and_credit_limit(cloud: Cloud) -> None:
    _top_up(cloud, "100.00")
    _top_up(cloud, "100.00")  # the same idempotency key: added once
    coupon = {
        "amount": "20",
        "currency": "CNY",
        "expires_at": "2026-12-31T00:00:00Z",
        "items": ["instance"],
    }
    made = cloud.client.post(
        f"/v1/admin/billing/{cloud.acme.id}/coupons", json=coupon, headers=cloud.admin
    )
    assert made.status_code == 201, made.text
    account = cloud.client.get("/v1/billing/account", headers=cloud.acme.headers).json()
    assert (account["balance"], account["coupon_balance"]) == ("100.000000", "20.000000")
    assert account["credit_limit"] == "0.000000" and account["payment_mode"] == "prepaid"
    assert [c["items"] for c in account["coupons"]] == [["instance"]]


def test_a_server_is_billed_per_started_hour_with_lines_and_csv(cloud: Cloud) -> None:
    _catalog(cloud)
    _top_up(cloud, "50")
    cloud.boot(cloud.acme, name="web-1", flavor="m1.small")  # created at 10:27:03
    _hours(cloud, 3)
    url = "/v1/billing/bills?month=2026-03"
    bills = cloud.client.get(url, headers=cloud.acme.headers).json()["items"]
    assert bills[0]["instance"] == "1.26"  # 10:00, 11:00, 12:00 started
    # The simulated workload sends traffic: metering's bytes out are rated as bandwidth too.
    assert Decimal(bills[0]["total"]) == Decimal("1.26") + Decimal(bills[0]["bandwidth"])
    bill = cloud.client.get("/v1/billing/bills/2026-03", headers=cloud.acme.headers).json()
    line = next(x for x in bill["lines"] if x["type"] == "instance")
    assert (line["type"], line["resource_name"], line["price"], line["total"]) == (
        "instance",
        "web-1",
        "0.420000",
        "1.26",
    )
    assert Decimal(line["quantity"]) == 3
    csv = cloud.client.get("/v1/billing/bills/2026-03.csv", headers=cloud.acme.headers)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("kind,type,resource_name")
    assert f"total,all,,,,,,,,,{bills[0]['total']}" in csv.text
    assert billing.check(db=cloud.container.db).ok


def test_prices_are_shown_in_the_callers_currency(cloud: Cloud) -> None:
    _catalog(cloud)
    prices = cloud.client.get("/v1/billing/prices", headers=cloud.acme.headers).json()["items"]
    small = next(p for p in prices if p["item_type"] == "m1.small")
    assert (small["price"], small["currency"], small["unit"]) == ("0.420000", "CNY", "hour")
    lb = next(p for p in prices if p["item"] == "load_balancer")
    assert (lb["price"], lb["payment_type"]) == ("1.000000", "daily")
    catalog = cloud.client.get("/v1/admin/billing/catalog", headers=cloud.admin).json()["items"]
    assert len(catalog) == 51
    ssd = next(p for p in prices if p["item"] == "volume" and p["item_type"] == "local-ssd")
    assert (ssd["price"], ssd["unit"], ssd["payment_type"]) == ("0.001400", "gb_hour", "per_unit")


def test_bad_input_names_the_field_and_writes_nothing(cloud: Cloud) -> None:
    _catalog(cloud)
    before = _counts(cloud)
    acme = cloud.acme.id
    cases: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("POST", f"/v1/admin/billing/{acme}/topups", {**KEY, "amount": "-5", "currency": "CNY"},
         "amount"),
        (
            "POST",
            f"/v1/admin/billing/{acme}/topups",
            {**KEY, "amount": "5", "currency": "XYZ"},
            "currency",
        ),
        ("POST", f"/v1/admin/billing/{acme}/topups", {**KEY, "amount": 5.5, "currency": "CNY"},
         "amount"),
        (
            "POST",
            "/v1/admin/billing/catalog",
            {
                "item": "instance",
                "item_type": "m1.tiny",
                "payment_type": "per_started_hour",
                "price": "0.1234567",
                "currency": "CNY",
            },
            "price",
        ),
        (
            "POST",
            f"/v1/admin/billing/{acme}/coupons",
            {
                "amount": "5",
                "currency": "CNY",
                "expires_at": "2026-12-31T00:00:00Z",
                "items": ["gpu"],
            },
            "items",
        ),
        ("GET", "/v1/billing/bills/2026-13", None, "month"),
        ("GET", "/v1/billing/bills?month=2026-00", None, "month"),
    ]
    for method, path, body, field in cases:
        response = cloud.client.request(
            method, path, json=body, headers=cloud.admin if "admin" in path else cloud.acme.headers
        )
        assert 400 <= response.status_code < 500, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["field"] == field, (path, response.json())
    assert _counts(cloud) == before


def test_a_price_change_never_starts_in_the_past(cloud: Cloud) -> None:
    _catalog(cloud)
    body = {
        "item": "instance",
        "item_type": "m1.small",
        "payment_type": "per_started_hour",
        "price": "0.50",
        "currency": "CNY",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    response = cloud.client.post("/v1/admin/billing/catalog", json=body, headers=cloud.admin)
    assert response.status_code == 422 and response.json()["field"] == "valid_from"
    body["valid_from"] = "2026-04-01T00:00:00Z"
    assert (
        cloud.client.post("/v1/admin/billing/catalog", json=body, headers=cloud.admin).status_code
        == 201
    )


def test_low_balance_notifies_grants_grace_suspends_and_a_top_up_resumes(cloud: Cloud) -> None:
    _catalog(cloud)
    billing.save_settings(db=cloud.container.db, values={"grace_hours": "2"})
    _top_up(cloud, "11")
    server = cloud.boot(cloud.acme, name="web-1", flavor="m1.large")  # 3.33/hour
    _hours(cloud, 1)
    assert _account(cloud)["status"] == "low"  # 11 - 3.33 <= threshold 10
    _hours(cloud, 3)
    assert _account(cloud)["status"] == "grace"
    _hours(cloud, 2)
    assert _account(cloud)["status"] == "suspended"
    cloud.settle()
    shown = cloud.client.get(f"/v1/servers/{server['id']}", headers=cloud.acme.headers).json()
    assert shown["status"] == "SHUTOFF"  # stopped, not deleted
    refused = cloud.client.post("/v1/floating-ips", headers=cloud.acme.headers)
    assert refused.status_code == 402 and refused.json()["title"] == "Insufficient funds"
    _top_up(cloud, "100", key="t2")
    cloud.settle()
    assert _account(cloud)["status"] == "ok"
    shown = cloud.client.get(f"/v1/servers/{server['id']}", headers=cloud.acme.headers).json()
    assert shown["status"] == "ACTIVE"
    with cloud.container.db.read() as conn:
        from sws.billing import repository

        steps = [r["action"] for r in repository.audit_of(conn, cloud.acme.id)]
    for step in (
        "notified",
        "grace_started",
        "suspended",
        "server_stopped",
        "topup",
        "resumed",
        "server_started",
    ):
        assert step in steps, steps


def _account(cloud: Cloud) -> Any:
    return cloud.client.get("/v1/billing/account", headers=cloud.acme.headers).json()


def test_a_postpaid_account_runs_on_its_credit_limit(cloud: Cloud) -> None:
    _catalog(cloud)
    body = {"payment_mode": "postpaid", "credit_limit": "500"}
    response = cloud.client.patch(
        f"/v1/admin/billing/{cloud.acme.id}/account", json=body, headers=cloud.admin
    )
    assert response.status_code == 200, response.text
    cloud.boot(cloud.acme, flavor="m1.small")
    cloud.clock.advance(timedelta(hours=5))
    cloud.settle()
    account = _account(cloud)
    assert Decimal(account["balance"]) < 0 and account["status"] == "ok"
    assert Decimal(account["available"]) == Decimal("500") + Decimal(account["balance"])


def test_a_volume_and_its_snapshot_are_on_the_bill_by_the_gb_hour_and_gb_month(
    cloud: Cloud,
) -> None:
    _catalog(cloud)
    _top_up(cloud, "50")
    made = cloud.client.post("/v1/volumes", json={"name": "db", "size_gb": 100},
                             headers=cloud.acme.headers)
    assert made.status_code == 201, made.text
    snap = cloud.client.post("/v1/volume-snapshots", json={"volume_id": made.json()["id"]},
                             headers=cloud.acme.headers)
    assert snap.status_code == 201, snap.text
    _hours(cloud, 4)  # the farmer rates each hour that ended an hour ago
    month = cloud.clock.now().strftime("%Y-%m")
    bill = cloud.client.get(f"/v1/billing/bills/{month}", headers=cloud.acme.headers).json()
    volume = [x for x in bill["lines"] if x["type"] == "volume"]
    snapshot = [x for x in bill["lines"] if x["type"] == "volume_snapshot"]
    assert [(x["item_type"], x["unit"], x["price"]) for x in volume] == [
        ("local-ssd", "gb_hour", "0.001400")]
    assert [(x["item_type"], x["unit"], x["price"]) for x in snapshot] == [
        ("gb_month", "gb_month", "0.120000")]
    # 100 GB-hours a whole hour at 0.0014 CNY each, the line rounded half-up to the fen.
    assert Decimal(volume[0]["quantity"]) >= 200
    cost = Decimal(volume[0]["quantity"]) * Decimal("0.0014")
    assert Decimal(bill["volume"]) == cost.quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert Decimal(bill["volume_snapshot"]) == Decimal(snapshot[0]["total"]) > 0
    price = {"region": "*", "item": "volume", "item_type": "local-hdd",
             "payment_type": "per_unit", "price": "0.0006", "currency": "CNY"}
    added = cloud.client.post("/v1/admin/billing/catalog", json=price, headers=cloud.admin)
    assert added.status_code == 201, added.text
    assert added.json()["unit"] == "gb_hour"
