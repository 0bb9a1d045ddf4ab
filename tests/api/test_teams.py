"""Teams through the API: an owner invites by mail with a role, the invitee accepts once,
owners change roles and remove members, and the tenant never loses its last owner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from sws.audit.tables import audit_log
from sws.identity import service as identity
from tests.api.conftest import PASSWORD, Cloud
from tests.api.test_signup import _code, _mails

NEW_PASSWORD = "a long team secret"


def log_in(cloud: Cloud, name: str, password: str = PASSWORD) -> dict[str, str]:
    token = cloud.client.post("/v1/auth/tokens", json={"name": name, "password": password})
    assert token.status_code == 201, token.text
    return {"Authorization": f"Bearer {token.json()['token']}"}


def acme_owner(cloud: Cloud, name: str = "olga") -> dict[str, str]:
    identity.create_user(db=cloud.container.db, clock=cloud.clock, tenant_id=cloud.acme.id,
                         name=name, password=PASSWORD, role="owner")
    return log_in(cloud, name)


def invite(cloud: Cloud, owner: dict[str, str], email: str, role: str, **extra: str) -> str:
    """Invite `email` with `role`; the code from the mail SWS enqueued."""
    sent = cloud.client.post("/v1/invitations", headers=owner,
                             json={"email": email, "role": role, **extra})
    assert sent.status_code == 201, sent.text
    assert sent.json()["state"] == "pending"
    return _code(_mails(cloud)[-1])


def accept(cloud: Cloud, code: str, name: str | None = None) -> Any:
    body: dict[str, Any] = {"token": code, "password": NEW_PASSWORD}
    if name:
        body["name"] = name
    return cloud.client.post("/v1/invitations/accept", json=body)


def user_id(cloud: Cloud, headers: dict[str, str], name: str) -> str:
    found = cloud.client.get("/v1/users", headers=headers).json()["items"]
    return str(next(u["id"] for u in found if u["name"] == name))


def test_an_invitee_accepts_once_and_joins_with_the_invited_role(cloud: Cloud) -> None:
    owner = acme_owner(cloud)
    code = invite(cloud, owner, "Carol@Example.com", "billing", language="zh")
    mail = _mails(cloud)[-1]
    assert mail["to"] == "carol@example.com" and "olga" in mail["subject"]
    assert "邀请" in mail["subject"] and "/console/invitations/accept?token=" in mail["text"]
    joined = accept(cloud, code, name="carol")
    assert joined.status_code == 201, joined.text
    assert joined.json() == {"tenant_id": cloud.acme.id, "user_id": joined.json()["user_id"],
                             "user_name": "carol", "role": "billing"}
    carol = log_in(cloud, "carol", NEW_PASSWORD)
    assert cloud.client.get("/v1/tenants", headers=carol).json()["items"][0]["id"] == cloud.acme.id
    replay = accept(cloud, code, name="carol2")
    assert (replay.status_code, replay.json()["field"]) == (409, "token")
    listed = cloud.client.get("/v1/invitations", headers=owner).json()["items"]
    assert [i["state"] for i in listed] == ["accepted"]
    with cloud.container.db.read() as conn:
        actions = set(conn.execute(select(audit_log.c.action)).scalars())
    assert {"invitation.create", "invitation.accept"} <= actions


def test_expired_revoked_and_unknown_codes_are_refused_clearly(cloud: Cloud) -> None:
    owner = acme_owner(cloud)
    late = invite(cloud, owner, "late@example.com", "member")
    revoked = invite(cloud, owner, "gone@example.com", "viewer")
    pending = cloud.client.get("/v1/invitations", headers=owner).json()["items"]
    gone_id = next(i["id"] for i in pending if i["email"] == "gone@example.com")
    assert cloud.client.delete(f"/v1/invitations/{gone_id}", headers=owner).json()[
        "state"] == "revoked"
    assert cloud.client.delete(f"/v1/invitations/{gone_id}", headers=owner).status_code == 409
    assert accept(cloud, revoked).status_code == 410
    cloud.clock.advance(timedelta(hours=73))
    expired = accept(cloud, late)
    assert (expired.status_code, expired.json()["field"]) == (410, "token")
    assert accept(cloud, "not-a-code").status_code == 400
    assert cloud.client.post("/v1/auth/tokens", json={
        "name": "late@example.com", "password": NEW_PASSWORD}).status_code == 401


def test_only_the_owner_invites_and_another_tenant_cannot_revoke(cloud: Cloud) -> None:
    owner = acme_owner(cloud)
    refused = cloud.client.post("/v1/invitations", headers=cloud.acme.headers,
                                json={"email": "x@example.com", "role": "member"})
    assert refused.status_code == 403
    invite(cloud, owner, "dan@example.com", "member")
    found = cloud.client.get("/v1/invitations", headers=owner).json()["items"][0]["id"]
    assert cloud.client.get("/v1/invitations", headers=cloud.globex.headers).json()[
        "items"] == []
    assert cloud.client.delete(f"/v1/invitations/{found}",
                               headers=cloud.globex.headers).status_code in (403, 404)
    bad_role = cloud.client.post("/v1/invitations", headers=owner,
                                 json={"email": "x@example.com", "role": "admin"})
    assert (bad_role.status_code, bad_role.json()["field"]) == (422, "role")


def test_owners_change_roles_and_remove_members_but_never_the_last_owner(cloud: Cloud) -> None:
    owner = acme_owner(cloud)
    me = user_id(cloud, owner, "olga")
    alice = user_id(cloud, owner, "alice")
    demoted = cloud.client.patch(f"/v1/users/{me}", json={"role": "member"}, headers=owner)
    assert (demoted.status_code, demoted.json()["field"]) == (409, "user_id")
    assert cloud.client.delete(f"/v1/users/{me}", headers=owner).status_code == 409
    promoted = cloud.client.patch(f"/v1/users/{alice}", json={"role": "owner"}, headers=owner)
    assert promoted.json()["role"] == "owner"
    assert cloud.client.patch(f"/v1/users/{me}", json={"role": "viewer"},
                              headers=owner).json()["role"] == "viewer"
    # Olga is a viewer now, at once: she manages nobody.
    assert cloud.client.delete(f"/v1/users/{alice}", headers=owner).status_code == 403
    assert cloud.client.delete(f"/v1/users/{me}", headers=cloud.acme.headers).status_code == 204
    assert cloud.client.get("/v1/users", headers=owner).status_code == 401
    names = [u["name"] for u in cloud.client.get("/v1/users", headers=cloud.acme.headers).json()[
        "items"]]
    assert names == ["alice"]
