"""A user in several tenants through the API: an invitation to an address that has an SWS
account adds that account to the team (no second account); the user switches its session
between its tenants, acts there with its role there, and leaves when an owner removes it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from sws.identity.tables import users
from tests.api.conftest import PASSWORD, Cloud
from tests.api.test_teams import acme_owner, invite, log_in, user_id

MISSING = "0" * 32


def _give_bob_an_address(cloud: Cloud) -> None:
    with cloud.container.db.begin() as conn:
        conn.execute(update(users).where(users.c.name == "bob").values(email="bob@example.com"))


def _join(cloud: Cloud, role: str = "member", password: str = PASSWORD) -> tuple[Any, Any]:
    """Acme's owner invites globex's bob by his address; bob accepts with his own password."""
    _give_bob_an_address(cloud)
    owner = acme_owner(cloud)
    code = invite(cloud, owner, "Bob@Example.com", role)
    answer = cloud.client.post("/v1/invitations/accept", json={"token": code, "password": password})
    return owner, answer


def _switch(cloud: Cloud, headers: dict[str, str], tenant_id: str) -> Any:
    return cloud.client.post("/v1/account/tenant", json={"tenant_id": tenant_id}, headers=headers)


def _user_count(cloud: Cloud) -> int:
    with cloud.container.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def test_an_existing_account_joins_with_its_password_and_switches(cloud: Cloud) -> None:
    before = _user_count(cloud)
    owner, joined = _join(cloud, role="viewer")
    assert joined.status_code == 201, joined.text
    assert joined.json()["user_name"] == "bob"
    assert joined.json()["role"] == "viewer"
    assert _user_count(cloud) == before + 1  # acme's owner only: no second bob
    bob = log_in(cloud, "bob")
    mine = cloud.client.get("/v1/account/tenants", headers=bob).json()
    assert [(p["tenant_id"], p["own"], p["current"]) for p in mine] == [
        (cloud.globex.id, True, True),
        (cloud.acme.id, False, False),
    ]
    switched = _switch(cloud, bob, cloud.acme.id)
    assert switched.status_code == 200, switched.text
    me = cloud.client.get("/v1/auth/tokens", headers=bob).json()
    assert (me["tenant_id"], me["role"]) == (cloud.acme.id, "viewer")
    assert cloud.client.get("/v1/servers", headers=bob).status_code == 200
    refused = cloud.client.post("/v1/keypairs", json={"name": "k"}, headers=bob)
    assert refused.status_code == 403  # a viewer in acme, whatever bob is at home
    team = cloud.client.get("/v1/users", headers=owner).json()["items"]
    assert {"bob": "viewer"}.items() <= {u["name"]: u["role"] for u in team}.items()
    back = _switch(cloud, bob, cloud.globex.id)
    assert back.status_code == 200
    assert cloud.client.get("/v1/auth/tokens", headers=bob).json()["role"] == "member"


def test_a_wrong_password_or_a_second_acceptance_is_refused(cloud: Cloud) -> None:
    _, wrong = _join(cloud, password="not bob's password")
    assert (wrong.status_code, wrong.json()["field"]) == (401, "password")
    owner = log_in(cloud, "olga")
    again = invite(cloud, owner, "bob@example.com", "member")
    ok = cloud.client.post("/v1/invitations/accept", json={"token": again, "password": PASSWORD})
    assert ok.status_code == 201, ok.text
    third = invite(cloud, owner, "bob@example.com", "owner")
    twice = cloud.client.post("/v1/invitations/accept", json={"token": third, "password": PASSWORD})
    assert (twice.status_code, twice.json()["field"]) == (409, "token")


def test_a_role_change_and_a_removal_act_on_the_team_only(cloud: Cloud) -> None:
    owner, _ = _join(cloud, role="member")
    bob = log_in(cloud, "bob")
    _switch(cloud, bob, cloud.acme.id)
    bob_id = user_id(cloud, owner, "bob")
    demoted = cloud.client.patch(f"/v1/users/{bob_id}", json={"role": "billing"}, headers=owner)
    assert demoted.status_code == 200 and demoted.json()["role"] == "billing", demoted.text
    assert cloud.client.get("/v1/auth/tokens", headers=bob).json()["role"] == "billing"
    removed = cloud.client.delete(f"/v1/users/{bob_id}", headers=owner)
    assert removed.status_code == 204
    assert cloud.client.get("/v1/auth/tokens", headers=bob).status_code == 401  # acme's session
    home = log_in(cloud, "bob")  # bob's account and globex's role are untouched
    me = cloud.client.get("/v1/auth/tokens", headers=home).json()
    assert (me["tenant_id"], me["role"]) == (cloud.globex.id, "member")
    assert [
        p["tenant_id"] for p in cloud.client.get("/v1/account/tenants", headers=home).json()
    ] == [cloud.globex.id]


def test_a_joined_owner_keeps_the_team_owned_and_its_home_cannot_take_it_away(
    cloud: Cloud,
) -> None:
    owner, _ = _join(cloud, role="owner")
    olga_id = user_id(cloud, owner, "olga")
    bob = log_in(cloud, "bob")
    _switch(cloud, bob, cloud.acme.id)
    # bob, owner of acme through his place there, removes olga: he is acme's last owner now.
    assert cloud.client.delete(f"/v1/users/{olga_id}", headers=bob).status_code == 204
    bob_id = user_id(cloud, bob, "bob")
    last = cloud.client.patch(f"/v1/users/{bob_id}", json={"role": "member"}, headers=bob)
    assert (last.status_code, last.json()["field"]) == (409, "user_id")
    # Globex's admin-less owner cannot disable or remove bob's account either: acme needs it.
    globex_owner = _globex_owner(cloud)
    gone = cloud.client.delete(f"/v1/users/{bob_id}", headers=globex_owner)
    off = cloud.client.patch(f"/v1/users/{bob_id}", json={"enabled": False}, headers=globex_owner)
    assert (gone.status_code, off.status_code) == (409, 409), (gone.text, off.text)


def test_nobody_switches_into_a_tenant_it_did_not_join(cloud: Cloud) -> None:
    alice = log_in(cloud, "alice")
    foreign = _switch(cloud, alice, cloud.globex.id)
    absent = _switch(cloud, alice, MISSING)
    assert (foreign.status_code, absent.status_code) == (404, 404)
    assert foreign.json()["title"] == absent.json()["title"]
    assert cloud.client.get("/v1/auth/tokens", headers=alice).json()["tenant_id"] == cloud.acme.id
    credential = cloud.client.post(
        "/v1/account/credentials", json={"name": "ci"}, headers=alice
    ).json()["secret"]
    by_key = _switch(cloud, {"Authorization": f"Bearer {credential}"}, cloud.acme.id)
    assert by_key.status_code == 403


def _globex_owner(cloud: Cloud) -> dict[str, str]:
    from sws.identity import service as identity

    identity.create_user(
        db=cloud.container.db,
        clock=cloud.clock,
        tenant_id=cloud.globex.id,
        name="gina",
        password=PASSWORD,
        role="owner",
    )
    return log_in(cloud, "gina")
