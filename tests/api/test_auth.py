"""Logging in, calling with a token, and logging out, as a tenant's user does with curl."""

from __future__ import annotations

from tests.api.conftest import PASSWORD, Cloud


def test_login_whoami_logout(cloud: Cloud) -> None:
    client = cloud.client
    login = client.post("/v1/auth/tokens", json={"name": "alice", "password": PASSWORD})
    assert login.status_code == 201
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    me = client.get("/v1/auth/tokens", headers=headers)
    assert me.json()["user_name"] == "alice" and me.json()["tenant_id"] == cloud.acme.id
    assert client.delete("/v1/auth/tokens", headers=headers).status_code == 204
    after = client.get("/v1/servers", headers=headers)
    assert after.status_code == 401
    assert after.headers["content-type"] == "application/problem+json"


def test_x_auth_token_header_works_like_bearer(cloud: Cloud) -> None:
    token = cloud.acme.headers["Authorization"].removeprefix("Bearer ")
    response = cloud.client.get("/v1/flavors", headers={"X-Auth-Token": token})
    assert response.status_code == 200
    assert {"m1.tiny", "m1.small"} <= {f["name"] for f in response.json()}


def test_wrong_password_and_no_token_are_401_problems(cloud: Cloud) -> None:
    wrong = cloud.client.post("/v1/auth/tokens", json={"name": "alice", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["title"] == "Unauthorized"
    missing = cloud.client.get("/v1/servers")
    assert missing.status_code == 401
    assert "Bearer" in missing.json()["detail"]


def test_a_disabled_user_loses_access_at_once(cloud: Cloud) -> None:
    users = cloud.client.get("/v1/users", headers=cloud.acme.headers).json()["items"]
    alice = users[0]["id"]
    disabled = cloud.client.patch(
        f"/v1/admin/users/{alice}", json={"enabled": False}, headers=cloud.admin
    )
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert cloud.client.get("/v1/servers", headers=cloud.acme.headers).status_code == 401


def test_admin_creates_tenant_and_user_who_can_log_in(cloud: Cloud) -> None:
    client = cloud.client
    tenant = client.post(
        "/v1/admin/tenants",
        json={"name": "initech", "billing_timezone": "America/Chicago", "currency": "USD"},
        headers=cloud.admin,
    )
    assert tenant.status_code == 201, tenant.text
    user = client.post(
        "/v1/admin/users",
        json={"tenant_id": tenant.json()["id"], "name": "peter", "password": "tps-reports-1"},
        headers=cloud.admin,
    )
    assert user.status_code == 201 and user.json()["role"] == "member"
    login = client.post("/v1/auth/tokens", json={"name": "peter", "password": "tps-reports-1"})
    assert login.json()["principal"]["tenant_id"] == tenant.json()["id"]


def test_admin_api_actions_are_audited(cloud: Cloud) -> None:
    users = cloud.client.get("/v1/users", headers=cloud.acme.headers).json()["items"]
    alice = users[0]["id"]
    cloud.client.post(
        f"/v1/admin/users/{alice}/password", json={"password": "n3w-passw0rd"}, headers=cloud.admin
    )
    log = cloud.client.get("/v1/admin/audit", headers=cloud.admin).json()
    entry = log["items"][0]
    assert (entry["action"], entry["target_id"], entry["source"]) == (
        "user.reset_password", alice, "api"
    )
    assert entry["actor_name"] == "root-admin"
    assert "n3w-passw0rd" not in str(log)
