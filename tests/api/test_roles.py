"""Roles on real routes: every mutating tenant route, as the API serves it, called by a
viewer, a billing user and a member. A viewer changes nothing; billing pays but never touches
resources; a member does everything but manage the team."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sws.identity import service as identity
from tests.api.conftest import PASSWORD, Cloud
from tests.api.test_payments import _open, _pay
from tests.api.test_teams import log_in

MISSING = "00000000-0000-4000-8000-000000000000"
SAFE = {"GET", "HEAD", "OPTIONS"}
# What a billing user may change: its bills, payments, its own account and sessions.
BILLING_PATHS = ("/v1/payments", "/v1/billing", "/v1/invoices", "/v1/auth/", "/v1/account")
TEAM_PATHS = ("/v1/users", "/v1/invitations")


def as_user(cloud: Cloud, name: str, role: str) -> dict[str, str]:
    identity.create_user(db=cloud.container.db, clock=cloud.clock, tenant_id=cloud.acme.id,
                         name=name, password=PASSWORD, role=role)
    return log_in(cloud, name)


def _mutating_tenant_routes(cloud: Cloud) -> list[tuple[str, str]]:
    """Every (METHOD, path) that changes something in the tenant: needs a token, is not the
    admin's, and is not the caller's own account (every role keeps its own)."""
    paths = cloud.client.get("/v1/openapi.json").json()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method.upper() not in SAFE and operation.get("security")
        and not path.startswith(("/v1/admin/", "/v1/account")) and path != "/v1/auth/tokens"
    ]


def _call(cloud: Cloud, method: str, path: str, headers: dict[str, str]) -> Any:
    url = path
    while "{" in url:
        start, end = url.index("{"), url.index("}")
        url = url[:start] + MISSING + url[end + 1:]
    return cloud.client.request(method, url, headers=headers, json={})


def test_a_viewer_gets_403_on_every_mutating_tenant_route(cloud: Cloud) -> None:
    viewer = as_user(cloud, "vera", "viewer")
    routes = _mutating_tenant_routes(cloud)
    assert len(routes) >= 40
    for method, path in routes:
        answer = _call(cloud, method, path, viewer)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["field"] == "role"
    assert cloud.client.get("/v1/servers", headers=viewer).status_code == 200
    assert cloud.client.get("/v1/billing/account", headers=viewer).status_code == 200


def test_billing_pays_but_gets_403_on_every_resource_mutation(cloud: Cloud) -> None:
    billing = as_user(cloud, "bill", "billing")
    for method, path in _mutating_tenant_routes(cloud):
        if path.startswith(BILLING_PATHS):
            continue
        answer = _call(cloud, method, path, billing)
        assert answer.status_code == 403, (method, path, answer.text)
    cloud.acme.headers = billing
    opened = _open(cloud, cloud.acme, "20.00", idempotency_key="billing-role")
    assert opened.status_code == 201, opened.text
    assert _pay(cloud, opened.json()["id"]).status_code == 200
    account = cloud.client.get("/v1/billing/account", headers=billing).json()
    assert Decimal(account["balance"]) == Decimal("20.00")


@pytest.mark.parametrize("role", ["member", "billing", "viewer"])
def test_only_owners_change_the_team(cloud: Cloud, role: str) -> None:
    someone = as_user(cloud, f"{role}-1", role)
    for method, path in _mutating_tenant_routes(cloud):
        if path.startswith(TEAM_PATHS):
            assert _call(cloud, method, path, someone).status_code == 403, (method, path)
    invite = cloud.client.post("/v1/invitations", headers=someone,
                               json={"email": "x@example.com", "role": "owner"})
    assert invite.status_code == 403
