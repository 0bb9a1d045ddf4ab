"""The tenancy matrix: every route, called with another tenant's token and ids.

Another tenant's id must answer exactly as a missing id does (404), and every admin route
answers a member with 403. A route added without a row here fails `test_matrix_covers_*`.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from sws.identity import service as identity
from tests.api.conftest import PASSWORD, Cloud, Tenant
from tests.api.test_payments import _open, _pay

MISSING = "00000000-0000-4000-8000-000000000000"

# method, path template, JSON body: every tenant route that names a resource.
SCOPED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/servers/{server_id}", None),
    ("DELETE", "/v1/servers/{server_id}", None),
    ("POST", "/v1/servers/{server_id}/action", {"action": "stop"}),
    ("GET", "/v1/servers/{server_id}/console-output", None),
    ("PATCH", "/v1/servers/{server_id}", {"name": "renamed"}),
    ("GET", "/v1/images/{image_id}", None),
    ("DELETE", "/v1/images/{image_id}", None),
    ("GET", "/v1/keypairs/{name}", None),
    ("DELETE", "/v1/keypairs/{name}", None),
    ("GET", "/v1/security-groups/{group_id}", None),
    ("DELETE", "/v1/security-groups/{group_id}", None),
    ("POST", "/v1/security-groups/{group_id}/rules", {"protocol": "tcp"}),
    ("DELETE", "/v1/security-group-rules/{rule_id}", None),
    ("POST", "/v1/floating-ips/{fip_id}/associate", {"server_id": "{server_id}"}),
    ("POST", "/v1/floating-ips/{fip_id}/disassociate", None),
    ("DELETE", "/v1/floating-ips/{fip_id}", None),
    ("GET", "/v1/tenants/{tenant_id}", None),
    ("GET", "/v1/users/{user_id}", None),
    ("GET", "/v1/netfilter/bridge-grants/{server_id}", None),
    ("PUT", "/v1/netfilter/bridge-grants/{server_id}", {"port": 8080, "enabled": True}),
    ("GET", "/v1/metrics/{resource_id}", None),
    ("GET", "/v1/metrics/{resource_id}/{meter}", None),
    ("GET", "/v1/alarms/{alarm_id}", None),
    ("PATCH", "/v1/alarms/{alarm_id}", {"enabled": False}),
    ("DELETE", "/v1/alarms/{alarm_id}", None),
    ("GET", "/v1/alarms/{alarm_id}/history", None),
    ("GET", "/v1/loadbalancers/{lb_id}", None),
    ("PATCH", "/v1/loadbalancers/{lb_id}", {"name": "renamed"}),
    ("DELETE", "/v1/loadbalancers/{lb_id}", None),
    ("GET", "/v1/loadbalancers/{lb_id}/health", None),
    ("POST", "/v1/loadbalancers/{lb_id}/members", {"server_id": "{server_id}", "port": 81}),
    ("PATCH", "/v1/loadbalancers/{lb_id}/members/{member_id}", {"weight": 2}),
    ("DELETE", "/v1/loadbalancers/{lb_id}/members/{member_id}", None),
    ("POST", "/v1/loadbalancers/{lb_id}/hosts", {"host": "api.acme-shop.example"}),
    ("DELETE", "/v1/loadbalancers/{lb_id}/hosts/{host}", None),
    ("GET", "/v1/servers/{server_id}/public-domain", None),
    ("POST", "/v1/servers/{server_id}/public-domain", {"port": 22}),
    ("DELETE", "/v1/servers/{server_id}/public-domain", None),
    ("GET", "/v1/storage/containers/{container}", None),
    ("DELETE", "/v1/storage/containers/{container}", None),
    ("GET", "/v1/storage/containers/{container}/objects", None),
    ("PUT", "/v1/storage/containers/{container}/objects/{object_name}", None),
    ("GET", "/v1/storage/containers/{container}/objects/{object_name}", None),
    ("DELETE", "/v1/storage/containers/{container}/objects/{object_name}", None),
    ("GET", "/v1/storage/containers/{container}/firewall", None),
    ("PUT", "/v1/storage/containers/{container}/firewall", {"deny": ["192.0.2.1"]}),
    ("GET", "/v1/cdn/distributions/{distribution_id}", None),
    ("PATCH", "/v1/cdn/distributions/{distribution_id}", {"default_ttl": 60}),
    ("DELETE", "/v1/cdn/distributions/{distribution_id}", None),
    ("POST", "/v1/cdn/distributions/{distribution_id}/domains", {"domain": "cdn.acme.example"}),
    ("DELETE", "/v1/cdn/distributions/{distribution_id}/domains/{domain}", None),
    ("POST", "/v1/cdn/distributions/{distribution_id}/purges", {"kind": "all"}),
    ("GET", "/v1/cdn/distributions/{distribution_id}/purges", None),
    ("GET", "/v1/cdn/distributions/{distribution_id}/purges/{purge_id}", None),
    ("GET", "/v1/cdn/distributions/{distribution_id}/traffic", None),
    ("GET", "/v1/cdn/distributions/{distribution_id}/signing", None),
    ("PUT", "/v1/cdn/distributions/{distribution_id}/signing", {"enabled": True}),
    ("POST", "/v1/cdn/distributions/{distribution_id}/signing/rotate", None),
    ("POST", "/v1/cdn/distributions/{distribution_id}/sign", {"path": "/a", "seconds": 60}),
    ("GET", "/v1/cdn/distributions/{distribution_id}/certificates", None),
    ("PUT", "/v1/cdn/distributions/{distribution_id}/certificates/{domain}",
     {"certificate": "x", "private_key": "y"}),
    ("DELETE", "/v1/cdn/distributions/{distribution_id}/certificates/{domain}", None),
    ("GET", "/v1/invoices/{invoice_id}", None),
    ("GET", "/v1/invoices/{invoice_id}.pdf", None),
    ("GET", "/v1/invoices/{invoice_id}.html", None),
    ("GET", "/v1/quota-requests/{request_id}", None),
    ("GET", "/v1/community/leases/{server_id}", None),
    ("POST", "/v1/community/leases/{server_id}/renew", None),
    ("DELETE", "/v1/account/credentials/{credential_id}", None),
    ("DELETE", "/v1/account/sessions/{session_id}", None),
    ("GET", "/v1/volumes/{volume_id}", None),
    ("DELETE", "/v1/volumes/{volume_id}", None),
    ("POST", "/v1/volumes/{volume_id}/attach", {"server_id": "{server_id}"}),
    ("POST", "/v1/volumes/{volume_id}/detach", None),
    ("POST", "/v1/volumes/{volume_id}/extend", {"size_gb": 9}),
    ("POST", "/v1/volumes", {"name": "copy", "size_gb": 2, "snapshot_id": "{snapshot_id}"}),
    ("POST", "/v1/volume-snapshots", {"volume_id": "{volume_id}"}),
    ("GET", "/v1/volume-snapshots/{snapshot_id}", None),
    ("DELETE", "/v1/volume-snapshots/{snapshot_id}", None),
    ("PUT", "/v1/volumes/{volume_id}/snapshot-schedule", {"daily_keep": 7}),
    ("GET", "/v1/volumes/{volume_id}/snapshot-schedule", None),
    ("DELETE", "/v1/volumes/{volume_id}/snapshot-schedule", None),
    ("GET", "/v1/tags/{kind}/{resource_id}", None),
    ("PUT", "/v1/tags/{kind}/{resource_id}", {"tags": ["mine"]}),
    ("POST", "/v1/tags/{kind}/{resource_id}", {"tag": "mine"}),
    ("DELETE", "/v1/tags/{kind}/{resource_id}/{tag}", None),
]
# Routes only a tenant's owner may call: tried by another tenant's owner (test below).
OWNER_SCOPED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PATCH", "/v1/users/{user_id}", {"enabled": False}),
    ("PATCH", "/v1/users/{user_id}", {"role": "viewer"}),
    ("DELETE", "/v1/users/{user_id}", None),
    ("DELETE", "/v1/invitations/{invitation_id}", None),
]
# Tenant routes without an id: each shows only the caller's own things.
UNSCOPED = [
    "/v1/servers", "/v1/images", "/v1/keypairs", "/v1/security-groups", "/v1/floating-ips",
    "/v1/tenants", "/v1/users", "/v1/flavors", "/v1/regions", "/v1/quotas",
    "/v1/netfilter/reachable", "/v1/netfilter/bridge-grants",
    "/v1/alarms",
    "/v1/billing/account", "/v1/billing/bills", "/v1/billing/prices", "/v1/billing/estimate",
    "/v1/loadbalancers",
    "/v1/storage/containers",
    "/v1/payments",
    "/v1/cdn/distributions", "/v1/invoices",
    "/v1/payments/bank-transfer",
    "/v1/invitations", "/v1/quota-requests", "/v1/quota-sizes",
    "/v1/community/leases",
    "/v1/account/2fa", "/v1/account/credentials", "/v1/account/sessions",
    "/v1/regions/all",
    "/v1/account/tenants",
    "/v1/volumes", "/v1/volume-snapshots",
]
# Settings of the caller's own account, read and written without an id: nobody else's can be
# named (the test below writes them as globex and reads acme's).
SELF_SETTINGS = [("GET", "/v1/payments/auto-recharge"), ("PUT", "/v1/payments/auto-recharge"),
                 ("POST", "/v1/payments/auto-recharge/card"),
                 ("GET", "/v1/payments/auto-recharge/card"),
                 ("DELETE", "/v1/payments/auto-recharge/card"),
                 ("GET", "/v1/account"), ("PATCH", "/v1/account")]
# Tenant routes that take a month, not an id: each shows the caller's own bill for it.
PER_MONTH = ["/v1/billing/bills/{month}", "/v1/billing/bills/{month}.csv"]
# The operator's scrapers only (SWS_METRICS_TOKEN or SWS_METRICS_ALLOW): a tenant gets 403.
SCRAPERS = ["/metrics"]
OPEN = {
    "/v1/auth/tokens", "/v1/openapi.json", "/v1/docs", "/healthz", "/readyz",
    "/v1/flavors/{flavor_id}",
    "/v1/payments/callbacks/{provider}",  # a provider's signature decides, not a token
}


def _acme_ids(cloud: Cloud) -> dict[str, str]:
    client, headers = cloud.client, cloud.acme.headers
    server = cloud.boot(cloud.acme)
    snapshot = client.post(
        f"/v1/servers/{server['id']}/action", json={"action": "snapshot"}, headers=headers
    ).json()
    client.post("/v1/keypairs", json={"name": "acme-key"}, headers=headers)
    group = client.post("/v1/security-groups", json={"name": "web"}, headers=headers).json()
    rule = client.post(
        f"/v1/security-groups/{group['id']}/rules",
        json={"protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
        headers=headers,
    ).json()
    fip = client.post("/v1/floating-ips", headers=headers).json()
    user = client.get("/v1/users", headers=headers).json()["items"][0]
    alarm = client.post("/v1/alarms", headers=headers, json={"name": "hot", "rule": {
        "type": "threshold", "resource_id": server["id"], "meter": "cpu_util",
        "comparison": "gt", "threshold": 90}}).json()
    cloud.txt.prove("www.acme-shop.example", cloud.acme.id)
    lb = client.post("/v1/loadbalancers", headers=headers, json={
        "name": "web", "type": "http", "custom_hosts": ["www.acme-shop.example"],
        "members": [{"server_id": server["id"], "port": 80}]}).json()
    client.post(f"/v1/servers/{server['id']}/public-domain", headers=headers, json={"port": 22})
    client.post("/v1/storage/containers", headers=headers, json={"name": "acme-files"})
    client.put("/v1/storage/containers/acme-files/objects/docs/readme.txt", headers=headers,
               content=b"acme")
    distribution = client.post("/v1/cdn/distributions", headers=headers, json={
        "name": "assets", "origin": {"kind": "loadbalancer", "ref": lb["id"]}}).json()
    purge = client.post(f"/v1/cdn/distributions/{distribution['id']}/purges", headers=headers,
                        json={"kind": "all"}).json()
    request = client.post("/v1/quota-requests", headers=headers,
                          json={"size": "L", "reason": "launch"}).json()
    assert _paid(cloud, cloud.acme)
    (receipt,) = _invoices(cloud.client, headers)
    credential = client.post("/v1/account/credentials", headers=headers,
                             json={"name": "acme-ci"}).json()
    session = client.get("/v1/account/sessions", headers=headers).json()[0]
    volume = client.post("/v1/volumes", headers=headers, json={
        "name": "acme-db", "size_gb": 1, "host": server["host"]}).json()
    volume_snapshot = client.post("/v1/volume-snapshots", headers=headers,
                                  json={"volume_id": volume["id"]}).json()
    client.put(f"/v1/volumes/{volume['id']}/snapshot-schedule", headers=headers,
               json={"daily_keep": 7, "weekly_keep": 4})
    client.put(f"/v1/tags/servers/{server['id']}", headers=headers, json={"tags": ["env=prod"]})
    cloud.settle()
    return {
        "credential_id": credential["id"], "session_id": session["id"],
        "server_id": server["id"], "image_id": snapshot["id"], "name": "acme-key",
        "group_id": group["id"], "rule_id": rule["id"], "fip_id": fip["id"],
        "tenant_id": cloud.acme.id, "user_id": user["id"],
        "container": "acme-files", "object_name": "docs/readme.txt",
        "resource_id": server["id"], "meter": "vcpus", "alarm_id": alarm["id"],
        "lb_id": lb["id"], "member_id": lb["members"][0]["id"], "host": "www.acme-shop.example",
        "distribution_id": distribution["id"], "domain": "cdn.acme.example",
        "purge_id": purge["id"], "invoice_id": receipt["id"], "request_id": request["id"],
        "volume_id": volume["id"], "snapshot_id": volume_snapshot["id"],
        "kind": "servers", "tag": "env",  # the tags routes, on acme's server (resource_id)
    }


def _paid(cloud: Cloud, tenant: Tenant) -> bool:
    """A checkout paid with the test provider: the tenant then has a receipt."""
    payment = _open(cloud, tenant, "10.00", idempotency_key="tenancy-receipt").json()
    return _pay(cloud, payment["id"]).status_code == 200


def _invoices(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/v1/invoices", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _fill(template: str, ids: dict[str, str]) -> str:
    return template.format(**ids)


def _body(body: dict[str, Any] | None, ids: dict[str, str]) -> dict[str, Any] | None:
    if body is None:
        return None
    return {k: _fill(v, ids) if isinstance(v, str) else v for k, v in body.items()}


def test_another_tenants_ids_answer_exactly_like_missing_ids(cloud: Cloud) -> None:
    ids = _acme_ids(cloud)
    missing = dict.fromkeys(ids, MISSING)
    for method, template, body in SCOPED:
        foreign = cloud.client.request(
            method, _fill(template, ids), json=_body(body, ids), headers=cloud.globex.headers
        )
        absent = cloud.client.request(
            method, _fill(template, missing), json=_body(body, ids), headers=cloud.globex.headers
        )
        assert foreign.status_code == 404, (method, template, foreign.text)
        assert absent.status_code == 404, (method, template, absent.text)
        assert foreign.json()["title"] == absent.json()["title"]
    # And nothing of acme's was touched by those calls.
    server = cloud.client.get(f"/v1/servers/{ids['server_id']}", headers=cloud.acme.headers)
    assert server.json()["status"] == "ACTIVE"


def test_lists_show_only_the_callers_own_resources(cloud: Cloud) -> None:
    ids = _acme_ids(cloud)
    for path in UNSCOPED:
        response = cloud.client.get(path, headers=cloud.globex.headers)
        assert response.status_code == 200, (path, response.text)
        text = response.text
        for key in ("server_id", "image_id", "group_id", "fip_id", "tenant_id", "user_id",
                    "volume_id", "snapshot_id"):
            assert ids[key] not in text, (path, key)
    for path in SCRAPERS:
        assert cloud.client.get(path, headers=cloud.globex.headers).status_code == 403


def test_month_routes_show_only_the_callers_bill(cloud: Cloud) -> None:
    ids = _acme_ids(cloud)
    month = cloud.clock.now().strftime("%Y-%m")
    for path in PER_MONTH:
        response = cloud.client.get(path.format(month=month), headers=cloud.globex.headers)
        assert response.status_code == 200, (path, response.text)
        assert ids["server_id"] not in response.text and ids["fip_id"] not in response.text


def _routes(cloud: Cloud) -> list[tuple[str, str]]:
    """Every (METHOD, path) the API serves, read from its own OpenAPI document."""
    paths = cloud.client.get("/v1/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


def _admin_routes(cloud: Cloud) -> list[tuple[str, str]]:
    return [(m, p) for m, p in _routes(cloud) if p.startswith("/v1/admin/")]


@pytest.mark.parametrize("who", ["acme", "globex"])
def test_every_admin_route_refuses_members(cloud: Cloud, who: str) -> None:
    headers = cloud.acme.headers if who == "acme" else cloud.globex.headers
    admin_routes = _admin_routes(cloud)
    assert len(admin_routes) >= 10
    for method, path in admin_routes:
        url = path.replace("{tenant_id}", cloud.acme.id).replace("{user_id}", MISSING)
        response = cloud.client.request(method, url, headers=headers, json={})
        assert response.status_code == 403, (method, path, response.text)


def test_another_owner_cannot_manage_this_tenants_users(cloud: Cloud) -> None:
    ids = {"user_id": cloud.client.get("/v1/users", headers=cloud.acme.headers).json()[
        "items"][0]["id"], "invitation_id": _acme_invitation(cloud)}
    owner = _owner_of_globex(cloud)
    for method, template, body in OWNER_SCOPED:
        foreign = cloud.client.request(method, _fill(template, ids), json=body, headers=owner)
        absent = cloud.client.request(
            method, _fill(template, dict.fromkeys(ids, MISSING)), json=body, headers=owner
        )
        assert (foreign.status_code, absent.status_code) == (404, 404), (template, foreign.text)
        assert foreign.json()["title"] == absent.json()["title"]
    users = cloud.client.get("/v1/users", headers=cloud.acme.headers).json()["items"]
    assert all(user["enabled"] for user in users) and len(users) == 2
    assert all(user["role"] != "viewer" for user in users)


def test_self_settings_change_only_the_callers_own(cloud: Cloud) -> None:
    before = cloud.client.get("/v1/payments/auto-recharge", headers=cloud.acme.headers)
    assert before.status_code == 404  # acme never set it up
    written = cloud.client.put("/v1/payments/auto-recharge", headers=cloud.globex.headers, json={
        "enabled": True, "threshold": "10", "amount": "50", "monthly_cap": "100",
        "currency": "CNY", "provider": "test", "method_ref": "test_card"})
    assert written.status_code == 200, written.text
    mine = cloud.client.get("/v1/payments/auto-recharge", headers=cloud.globex.headers)
    assert mine.json()["enabled"] is True
    after = cloud.client.get("/v1/payments/auto-recharge", headers=cloud.acme.headers)
    assert (after.status_code, after.json()) == (before.status_code, before.json())
    acme = cloud.client.get("/v1/account", headers=cloud.acme.headers).json()
    changed = cloud.client.patch("/v1/account", headers=cloud.globex.headers,
                                 json={"language": "zh", "timezone": "Asia/Shanghai"})
    assert changed.status_code == 200 and changed.json()["name"] == "bob"
    assert cloud.client.get("/v1/account", headers=cloud.acme.headers).json() == acme


def _acme_invitation(cloud: Cloud) -> str:
    """A pending invitation of acme's, sent by an owner of acme."""
    identity.create_user(db=cloud.container.db, clock=cloud.container.clock,
                         tenant_id=cloud.acme.id, name="acme-owner", password=PASSWORD,
                         role="owner")
    token = cloud.client.post("/v1/auth/tokens", json={"name": "acme-owner",
                                                       "password": PASSWORD}).json()["token"]
    sent = cloud.client.post("/v1/invitations", json={"email": "new@acme.example"},
                             headers={"Authorization": f"Bearer {token}"})
    assert sent.status_code == 201, sent.text
    return str(sent.json()["id"])


def _owner_of_globex(cloud: Cloud) -> dict[str, str]:
    db, clock = cloud.container.db, cloud.container.clock
    identity.create_user(db=db, clock=clock, tenant_id=cloud.globex.id, name="globex-owner",
                         password=PASSWORD, role="owner")
    token = cloud.client.post("/v1/auth/tokens", json={"name": "globex-owner",
                                                       "password": PASSWORD})
    assert token.status_code == 201, token.text
    return {"Authorization": f"Bearer {token.json()['token']}"}


def test_matrix_covers_every_tenant_route(cloud: Cloud) -> None:
    covered = {(m, t) for m, t, _ in SCOPED + OWNER_SCOPED} | set(SELF_SETTINGS) | {
        ("GET", p) for p in UNSCOPED + PER_MONTH + SCRAPERS}
    tenant_routes = [(m, p) for m, p in _routes(cloud) if not p.startswith("/v1/admin/")]
    assert len(tenant_routes) >= 30
    for method, path in tenant_routes:
        # Create routes carry no id of an existing resource; every other route is in the matrix.
        creates = method == "POST" and "{" not in path
        assert (method, path) in covered or path in OPEN or creates, f"{method} {path} untested"
