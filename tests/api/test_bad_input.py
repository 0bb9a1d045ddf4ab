"""Input a stranger might send that SWS used to take: each is now refused, naming the field."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from sws.billing import service as billing
from tests.api.conftest import Cloud

STORAGE = "/v1/storage/containers"
RESOURCE = "5f0c1b9e-0000-4000-8000-00000000a1a2"  # an instance not booted yet: alarms may wait
UNPRINTABLE = ["web\x00", "web\x1b[2J", "invoice\u202egnp.exe", "zero\u200bwidth"]


def _problem(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def _fields(problem: dict[str, Any]) -> set[str]:
    """The fields a problem names, by their last part (`rule.threshold.threshold`: `threshold`)."""
    named = [problem.get("field") or ""] + [e["field"] for e in problem.get("errors", [])]
    return {name.split(".")[-1] for name in named}


def _top_up(cloud: Cloud, amount: Any, key: str | None = "k1") -> Any:
    body: dict[str, Any] = {"amount": amount, "currency": "CNY"}
    if key is not None:
        body["idempotency_key"] = key
    return cloud.client.post(
        f"/v1/admin/billing/{cloud.acme.id}/topups", json=body, headers=cloud.admin
    )


def _balance(cloud: Cloud) -> Decimal:
    account = billing.get_account(db=cloud.container.db, clock=cloud.clock, tenant_id=cloud.acme.id)
    return account.balance.amount


# ---- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["\uff11\uff12", " 5 ", "5e2", "1,000", "+5", ".5"])
def test_money_is_ascii_digits_only_and_nothing_is_credited(cloud: Cloud, amount: str) -> None:
    assert "amount" in _fields(_problem(_top_up(cloud, amount)))
    assert _balance(cloud) == 0


def test_a_coupon_and_a_price_take_the_same_written_form(cloud: Cloud) -> None:
    coupon = {"amount": "5e2", "currency": "CNY", "expires_at": "2026-12-31T00:00:00Z"}
    refused = cloud.client.post(
        f"/v1/admin/billing/{cloud.acme.id}/coupons", json=coupon, headers=cloud.admin
    )
    assert "amount" in _fields(_problem(refused))
    price = {"item": "instance", "item_type": "m1.tiny", "payment_type": "per_started_hour",
             "price": "\uff10.1", "currency": "CNY"}
    refused = cloud.client.post("/v1/admin/billing/catalog", json=price, headers=cloud.admin)
    assert "price" in _fields(_problem(refused))


def test_a_replayed_top_up_answers_as_before_and_credits_once(cloud: Cloud) -> None:
    first = _top_up(cloud, "10.00")
    again = _top_up(cloud, "10.00")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert _balance(cloud) == Decimal("10")


def test_a_key_reused_for_another_amount_is_409_naming_both(cloud: Cloud) -> None:
    assert _top_up(cloud, "10.00").status_code == 201
    problem = _problem(_top_up(cloud, "99.00"), 409)
    assert problem["field"] == "idempotency_key"
    assert "k1" in problem["detail"] and "10" in problem["detail"] and "99" in problem["detail"]
    assert _balance(cloud) == Decimal("10")


def test_a_key_reused_for_another_tenant_is_409(cloud: Cloud) -> None:
    assert _top_up(cloud, "10.00").status_code == 201
    body = {"amount": "10.00", "currency": "CNY", "idempotency_key": "k1"}
    other = cloud.client.post(
        f"/v1/admin/billing/{cloud.globex.id}/topups", json=body, headers=cloud.admin
    )
    assert _problem(other, 409)["field"] == "idempotency_key"


def test_a_top_up_needs_an_idempotency_key(cloud: Cloud) -> None:
    assert "idempotency_key" in _fields(_problem(_top_up(cloud, "10.00", key=None)))
    assert _balance(cloud) == 0


def test_a_coupon_key_reused_for_another_amount_is_409(cloud: Cloud) -> None:
    path = f"/v1/admin/billing/{cloud.acme.id}/coupons"
    coupon = {"amount": "5", "currency": "CNY", "expires_at": "2026-12-31T00:00:00Z",
              "idempotency_key": "c1"}
    first = cloud.client.post(path, json=coupon, headers=cloud.admin)
    assert first.status_code == 201, first.text
    replay = cloud.client.post(path, json=coupon, headers=cloud.admin)
    assert (replay.status_code, replay.json()["id"]) == (201, first.json()["id"])
    changed = cloud.client.post(path, json={**coupon, "amount": "50"}, headers=cloud.admin)
    assert _problem(changed, 409)["field"] == "idempotency_key"


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_a_coupon_expiry_outside_the_bounds_is_422(cloud: Cloud, moment: str) -> None:
    coupon = {"amount": "5", "currency": "CNY", "expires_at": moment, "idempotency_key": "c2"}
    refused = cloud.client.post(
        f"/v1/admin/billing/{cloud.acme.id}/coupons", json=coupon, headers=cloud.admin
    )
    assert _problem(refused)["field"] == "expires_at"


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_a_price_starting_outside_the_bounds_is_422(cloud: Cloud, moment: str) -> None:
    price = {"item": "instance", "item_type": "m1.tiny", "payment_type": "per_started_hour",
             "price": "0.1", "currency": "CNY", "valid_from": moment}
    refused = cloud.client.post("/v1/admin/billing/catalog", json=price, headers=cloud.admin)
    assert _problem(refused)["field"] == "valid_from"
    assert cloud.client.get("/v1/admin/billing/catalog", headers=cloud.admin).json()["items"] == []


# ---- object storage ---------------------------------------------------------------------------


def test_object_names_that_are_not_utf8_are_400_and_never_overwrite(cloud: Cloud) -> None:
    assert cloud.client.post(STORAGE, json={"name": "c"}, headers=cloud.acme.headers).is_success
    for name in ("a%FFb", "a%FEb"):
        response = cloud.client.put(
            f"{STORAGE}/c/objects/{name}", content=name.encode(), headers=cloud.acme.headers
        )
        assert _problem(response, 400)["field"] == "path"
    listing = cloud.client.get(f"{STORAGE}/c/objects", headers=cloud.acme.headers)
    assert listing.json()["items"] == []
    fine = cloud.client.put(f"{STORAGE}/c/objects/caf%C3%A9", content=b"x",
                            headers=cloud.acme.headers)
    assert fine.status_code == 201 and fine.json()["name"] == "caf\u00e9"


def test_a_name_holding_the_replacement_character_is_refused(cloud: Cloud) -> None:
    """U+FFFD is what a lossy decoder leaves; a console form decoded that way gets no object."""
    assert cloud.client.post(STORAGE, json={"name": "c"}, headers=cloud.acme.headers).is_success
    response = cloud.client.put(f"{STORAGE}/c/objects/a%EF%BF%BDb", content=b"x",
                                headers=cloud.acme.headers)
    assert _problem(response)["field"] == "object"


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_and_dot_dot_are_not_container_names(cloud: Cloud, name: str) -> None:
    response = cloud.client.post(STORAGE, json={"name": name}, headers=cloud.acme.headers)
    assert _problem(response)["field"] == "name"
    assert cloud.client.get(STORAGE, headers=cloud.acme.headers).json()["items"] == []


def test_a_firewall_limit_beyond_the_documented_maximum_is_422(cloud: Cloud) -> None:
    assert cloud.client.post(STORAGE, json={"name": "c"}, headers=cloud.acme.headers).is_success
    for amount in (9223372036854775808, 10**9 + 1):
        body = {"limits": [{"kind": "requests", "window": 300, "amount": amount}]}
        response = cloud.client.put(f"{STORAGE}/c/firewall", json=body, headers=cloud.acme.headers)
        assert _problem(response)["field"] == "limits.requests/300", amount
    body = {"limits": [{"kind": "mb", "window": 86400, "amount": 10**9}]}
    at_most = cloud.client.put(f"{STORAGE}/c/firewall", json=body, headers=cloud.acme.headers)
    assert at_most.status_code == 200, at_most.text
    stored = cloud.client.get(f"{STORAGE}/c/firewall", headers=cloud.acme.headers).json()
    assert stored["limits"] == body["limits"]


# ---- alarms, load balancers, security groups --------------------------------------------------


def _alarm(cloud: Cloud, server_id: str, *, name: str = "hot", threshold: Any = 90) -> Any:
    rule = {"type": "threshold", "resource_id": server_id, "meter": "cpu_util",
            "comparison": "gt", "threshold": threshold}
    return cloud.client.post(
        "/v1/alarms", content=_json({"name": name, "rule": rule}),
        headers=cloud.acme.headers | {"content-type": "application/json"},
    )


def _json(value: Any) -> str:
    return json.dumps(value)  # writes NaN and Infinity as JSON's non-standard literals


@pytest.mark.parametrize("threshold", [float("inf"), float("-inf"), float("nan"),
                                       pytest.param(10**400, id="10**400")])
def test_an_alarm_threshold_must_be_finite(cloud: Cloud, threshold: Any) -> None:
    assert "threshold" in _fields(_problem(_alarm(cloud, RESOURCE, threshold=threshold)))
    assert cloud.client.get("/v1/alarms", headers=cloud.acme.headers).json()["items"] == []


def test_a_1e999_threshold_as_written_is_422(cloud: Cloud) -> None:
    rule = json.dumps({"type": "threshold", "resource_id": RESOURCE, "meter": "cpu_util",
                       "comparison": "gt", "threshold": 0})
    body = '{"name": "hot", "rule": ' + rule.replace('"threshold": 0', '"threshold": 1e999') + "}"
    response = cloud.client.post("/v1/alarms", content=body, headers=cloud.acme.headers
                                 | {"content-type": "application/json"})
    assert "threshold" in _fields(_problem(response))


@pytest.mark.parametrize("name", UNPRINTABLE)
def test_alarm_names_are_printable(cloud: Cloud, name: str) -> None:
    assert "name" in _fields(_problem(_alarm(cloud, RESOURCE, name=name)))


def test_alarm_descriptions_are_printable_on_update_too(cloud: Cloud) -> None:
    alarm = _alarm(cloud, RESOURCE)
    assert alarm.status_code == 201, alarm.text
    response = cloud.client.patch(f"/v1/alarms/{alarm.json()['id']}", headers=cloud.acme.headers,
                                  json={"description": "all\u202eclear"})
    assert "description" in _fields(_problem(response))


@pytest.mark.parametrize("name", UNPRINTABLE)
def test_load_balancer_names_are_printable(cloud: Cloud, name: str) -> None:
    response = cloud.client.post("/v1/loadbalancers", json={"name": name, "type": "tcp"},
                                 headers=cloud.acme.headers)
    assert "name" in _fields(_problem(response))
    assert cloud.client.get("/v1/loadbalancers", headers=cloud.acme.headers).json()["items"] == []


def test_a_load_balancer_cannot_be_renamed_to_unprintable_text(cloud: Cloud) -> None:
    created = cloud.client.post("/v1/loadbalancers", json={"name": "lb", "type": "tcp"},
                                headers=cloud.acme.headers)
    assert created.status_code == 201, created.text
    response = cloud.client.patch(f"/v1/loadbalancers/{created.json()['id']}",
                                  json={"name": "lb\x1b[2J"}, headers=cloud.acme.headers)
    assert "name" in _fields(_problem(response))


@pytest.mark.parametrize("description", UNPRINTABLE)
def test_security_group_descriptions_are_printable(cloud: Cloud, description: str) -> None:
    response = cloud.client.post(
        "/v1/security-groups", json={"name": "web", "description": description},
        headers=cloud.acme.headers,
    )
    assert "description" in _fields(_problem(response))
