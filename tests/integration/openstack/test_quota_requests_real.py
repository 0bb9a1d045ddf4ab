"""Quota requests (扩容申请) on real OpenStack: an approved request sets Nova's quota set and
Neutron's quota of the tenant's project through their own APIs, as SWS's cloud account, and
SWS reads the new limits back from them. The project is this module's own, so no other test
sees its quota change."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Project, _operator_admin, fresh_project, keystone_token


@pytest.fixture(scope="module")
def shop(admin: Any) -> Iterator[Project]:
    """A fresh project at OpenStack's default quotas, with one member user."""
    with fresh_project(admin, "quota") as made:
        yield made


def _headers(user: str) -> dict[str, str]:
    return {"X-Auth-Token": keystone_token(user)}


def _ask(client: Any, headers: dict[str, str], body: dict[str, Any]) -> Any:
    answer = client.post("/v1/quota-requests", json={"reason": "a launch", **body}, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _novas_and_neutrons(admin: Any, project_id: str) -> dict[str, int]:
    """The project's quota as Nova and Neutron themselves answer it."""
    nova = admin.compute.get_quota_set(project_id)
    neutron = admin.network.get_quota(project_id)
    return {
        "instances": nova.instances,
        "cores": nova.cores,
        "ram_mb": nova.ram,
        "key_pairs": nova.key_pairs,
        "floating_ips": neutron.floating_ips,
        "security_groups": neutron.security_groups,
    }


def test_the_rules_approval_sets_novas_and_neutrons_quota(
    client: Any, admin: Any, shop: Project
) -> None:
    mine = _headers(shop.user)
    before = _novas_and_neutrons(admin, shop.id)
    assert (before["instances"], before["cores"], before["security_groups"]) == (10, 20, 10)
    request = _ask(client, mine, {"size": "M"})
    assert request["state"] == "approved" and request["decided_by"] == "rules", request
    after = _novas_and_neutrons(admin, shop.id)
    assert (after["instances"], after["cores"], after["ram_mb"]) == (20, 40, 102400)
    assert after["security_groups"] == 20
    # A size never lowers a limit: Neutron's default of 50 addresses is above M's 20.
    assert after["floating_ips"] == max(20, before["floating_ips"])
    shown = client.get("/v1/quotas", headers=mine).json()["limits"]
    assert {k: shown[k] for k in after} == after


def test_an_admins_approval_sets_them_and_a_denial_leaves_them(
    client: Any, admin: Any, shop: Project
) -> None:
    mine = _headers(shop.user)
    operator = _headers(_operator_admin(admin))
    before = _novas_and_neutrons(admin, shop.id)
    big = _ask(client, mine, {"limits": {"cores": 300, "security_groups": 120}})
    assert big["state"] == "pending"  # beyond XL: always the admin's
    denied = client.post(
        f"/v1/admin/quota-requests/{big['id']}/deny",
        json={"note": "not this month"},
        headers=operator,
    )
    assert denied.status_code == 200 and denied.json()["state"] == "denied", denied.text
    assert _novas_and_neutrons(admin, shop.id) == before

    wanted = _ask(client, mine, {"limits": {"cores": 260, "key_pairs": 600}})
    done = client.post(
        f"/v1/admin/quota-requests/{wanted['id']}/approve", json={"note": "fine"}, headers=operator
    )
    assert done.status_code == 200 and done.json()["state"] == "approved", done.text
    after = _novas_and_neutrons(admin, shop.id)
    assert (after["cores"], after["key_pairs"]) == (260, 600)
    assert {k: v for k, v in after.items() if k not in ("cores", "key_pairs")} == {
        k: v for k, v in before.items() if k not in ("cores", "key_pairs")
    }
    shown = client.get("/v1/quotas", headers=mine).json()["limits"]
    assert (shown["cores"], shown["key_pairs"]) == (260, 600)
