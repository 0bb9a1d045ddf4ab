"""Logging in, calling with a token, and logging out, as a tenant's user does with curl."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from sws.identity import service as identity
from sws.identity import tables
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
    assert {"m1.tiny", "m1.small"} <= {f["name"] for f in response.json()["items"]}


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


# ---- throttling, tenants, the last admin, one credential -----------------------------------

def _login(cloud: Cloud, name: str, password: str) -> Any:
    return cloud.client.post("/v1/auth/tokens", json={"name": name, "password": password})


def test_forty_wrong_passwords_then_the_right_one_is_throttled(cloud: Cloud) -> None:
    answers = [_login(cloud, "alice", f"guess-{n}").status_code for n in range(40)]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    right = _login(cloud, "alice", PASSWORD)
    assert right.status_code == 429
    assert right.headers["content-type"] == "application/problem+json"
    assert 1 <= int(right.headers["Retry-After"]) <= 60
    cloud.clock.advance(timedelta(seconds=int(right.headers["Retry-After"])))
    assert _login(cloud, "alice", PASSWORD).status_code == 201


def test_a_success_clears_the_count_and_others_are_not_throttled(cloud: Cloud) -> None:
    for n in range(4):
        assert _login(cloud, "alice", f"guess-{n}").status_code == 401
    assert _login(cloud, "alice", PASSWORD).status_code == 201
    for n in range(5):
        assert _login(cloud, "alice", f"guess-{n}").status_code == 401
    assert _login(cloud, "bob", PASSWORD).status_code == 201


def test_users_of_a_disabled_tenant_cannot_log_in(cloud: Cloud) -> None:
    off = cloud.client.patch(
        f"/v1/admin/tenants/{cloud.acme.id}", json={"enabled": False}, headers=cloud.admin
    )
    assert off.status_code == 200, off.text
    refused = _login(cloud, "alice", PASSWORD)
    assert refused.status_code == 401 and "token" not in refused.json()


def _user_id(cloud: Cloud, name: str) -> str:
    users = cloud.client.get("/v1/admin/users", headers=cloud.admin).json()["items"]
    return str(next(u["id"] for u in users if u["name"] == name))


def test_the_last_admin_cannot_be_disabled(cloud: Cloud) -> None:
    root = _user_id(cloud, "root-admin")
    refused = cloud.client.patch(
        f"/v1/admin/users/{root}", json={"enabled": False}, headers=cloud.admin
    )
    assert refused.status_code == 409 and refused.json()["field"] == "enabled"
    operator = cloud.client.get("/v1/admin/tenants", headers=cloud.admin).json()["items"]
    operator_id = next(t["id"] for t in operator if t["name"] == "operator")
    tenant_off = cloud.client.patch(
        f"/v1/admin/tenants/{operator_id}", json={"enabled": False}, headers=cloud.admin
    )
    assert tenant_off.status_code == 409
    assert cloud.client.get("/v1/admin/tenants", headers=cloud.admin).status_code == 200


def test_a_second_admin_lets_the_first_be_disabled(cloud: Cloud) -> None:
    operator = cloud.client.get("/v1/admin/tenants", headers=cloud.admin).json()["items"]
    operator_id = next(t["id"] for t in operator if t["name"] == "operator")
    made = cloud.client.post("/v1/admin/users", headers=cloud.admin, json={
        "tenant_id": operator_id, "name": "second-admin", "password": PASSWORD, "role": "admin"})
    assert made.status_code == 201, made.text
    root = _user_id(cloud, "root-admin")
    done = cloud.client.patch(
        f"/v1/admin/users/{root}", json={"enabled": False}, headers=cloud.admin
    )
    assert done.status_code == 200


def test_an_admin_role_outside_the_operator_tenant_grants_nothing(cloud: Cloud) -> None:
    refused = cloud.client.post("/v1/admin/users", headers=cloud.admin, json={
        "tenant_id": cloud.acme.id, "name": "mallory", "password": PASSWORD, "role": "admin"})
    assert refused.status_code == 422 and refused.json()["field"] == "role"
    # A row written around the service (an old database, a hand edit) still grants nothing.
    identity.create_user(db=cloud.container.db, clock=cloud.clock, tenant_id=cloud.acme.id,
                         name="mallory", password=PASSWORD)
    with cloud.container.db.begin() as conn:
        conn.execute(update(tables.users).where(tables.users.c.name == "mallory")
                     .values(role="admin"))
    token = _login(cloud, "mallory", PASSWORD).json()
    assert token["principal"]["role"] == "member"
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert cloud.client.get("/v1/admin/tenants", headers=headers).status_code == 403


def test_two_different_credentials_in_one_request_are_refused(cloud: Cloud) -> None:
    acme = cloud.acme.headers["Authorization"].removeprefix("Bearer ")
    both = {"Authorization": cloud.admin["Authorization"], "X-Auth-Token": acme}
    refused = cloud.client.get("/v1/flavors", headers=both)
    assert refused.status_code == 400 and refused.json()["field"] == "X-Auth-Token"
    same = {"Authorization": f"Bearer {acme}", "X-Auth-Token": acme}
    assert cloud.client.get("/v1/flavors", headers=same).status_code == 200
