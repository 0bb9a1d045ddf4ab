"""GET /v1/billing/estimate: the month to date and its projection, per tenant."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sws.billing import service as billing
from tests.api.conftest import Cloud

CATALOG = Path(billing.__file__).with_name("prices.yaml")


def test_a_running_instance_shows_a_month_to_date_before_its_first_charge(cloud: Cloud) -> None:
    billing.load_catalog_text(db=cloud.container.db, clock=cloud.clock, text=CATALOG.read_text())
    cloud.boot(cloud.acme, name="web-1", flavor="m1.small")  # 10:27, the 10:00 hour is due at 11
    cloud.settle(20 * 60)  # 20 minutes later the farmer has charged nothing yet
    bill = cloud.client.get("/v1/billing/bills/2026-03", headers=cloud.acme.headers).json()
    assert Decimal(bill["instance"]) == 0  # what the tenant saw: nothing yet
    answer = cloud.client.get("/v1/billing/estimate", headers=cloud.acme.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["month"], body["currency"]) == ("2026-03", "CNY")
    instance = next(c for c in body["categories"] if c["item"] == "instance")
    assert (instance["charged"], instance["accrued"], instance["month_to_date"]) == (
        "0.00", "0.42", "0.42")
    # Running on from 11:00 Mar 2 to the end of March: 709 more hours at 0.42.
    assert Decimal(instance["projected"]) == Decimal("0.42") * 710
    assert [c["item"] for c in body["categories"]] == [
        "instance", "bandwidth", "cdn", "floating_ip", "load_balancer", "object_storage",
        "volume", "volume_snapshot"]
    assert len(body["days"]) == 31 and body["days"][1]["day"] == "2026-03-02"
    assert Decimal(body["days"][1]["items"]["instance"]) == Decimal("0.42")
    assert Decimal(body["month_to_date"]) == sum(
        Decimal(c["month_to_date"]) for c in body["categories"])
    assert "not a charge" in body["note"]


def test_each_tenant_sees_only_its_own_estimate(cloud: Cloud) -> None:
    billing.load_catalog_text(db=cloud.container.db, clock=cloud.clock, text=CATALOG.read_text())
    cloud.boot(cloud.acme, name="web-1", flavor="m1.medium")
    cloud.settle(60)
    theirs = cloud.client.get("/v1/billing/estimate", headers=cloud.globex.headers).json()
    assert theirs["month_to_date"] == "0.00" and theirs["projected"] == "0.00"
    ours = cloud.client.get("/v1/billing/estimate", headers=cloud.acme.headers).json()
    assert Decimal(ours["month_to_date"]) >= Decimal("1.67")


def test_the_estimate_needs_a_token_and_takes_no_query(cloud: Cloud) -> None:
    assert cloud.client.get("/v1/billing/estimate").status_code == 401
    odd = cloud.client.get("/v1/billing/estimate?month=2026-01", headers=cloud.acme.headers)
    assert odd.status_code in (400, 422)
