"""SWS's tenant roles as Keystone role assignments on the real Keystone: the mapping is
applied idempotently, a token's roles are read back as the SWS role, and an owner's
invitation, its acceptance, a role change and a removal keep Keystone in step."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from sws.identity.team_keystone import team_directory
from sws.mail.tables import mail_outbox

from .conftest import PASSWORD, Project, fresh_project, keystone_token


@pytest.fixture(scope="module")
def shop(admin: Any) -> Iterator[Project]:
    """A fresh project whose owner gets its roles from the tests (none to begin with)."""
    with fresh_project(admin, "team", role=None) as made:
        yield made


def _held(admin: Any, project_id: str, user_name: str) -> set[str]:
    """The names of the roles Keystone says the user holds on the project (direct only)."""
    user = admin.identity.find_user(user_name, domain_id="default")
    names = {r.id: r.name for r in admin.identity.roles()}
    found = admin.identity.role_assignments(user_id=user.id, scope_project_id=project_id)
    return {names[a.role["id"]] for a in found}


def _whoami(client: Any, user: str, password: str = PASSWORD) -> dict[str, Any]:
    time.sleep(1.1)  # past the 1 s token cache of this SWS
    answer = client.get("/v1/auth/tokens", headers={"X-Auth-Token": keystone_token(user, password)})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_each_role_is_its_keystone_roles_and_reads_back(
    client: Any, container: Any, admin: Any, shop: Project
) -> None:
    directory = team_directory(container.settings)
    expected = {
        "owner": {"member", "sws_owner"},
        "billing": {"reader", "sws_billing"},
        "viewer": {"reader"},
        "member": {"member"},
    }
    for role, roles in expected.items():
        directory.set_role(project_id=shop.id, user_name=shop.user, role=role)
        directory.set_role(project_id=shop.id, user_name=shop.user, role=role)  # idempotent
        assert _held(admin, shop.id, shop.user) == roles
        assert _whoami(client, shop.user)["role"] == role
    directory.remove(project_id=shop.id, user_name=shop.user)
    directory.remove(project_id=shop.id, user_name=shop.user)
    assert _held(admin, shop.id, shop.user) == set()
    directory.set_role(project_id=shop.id, user_name=shop.user, role="owner")


def _last_code(container: Any) -> str:
    with container.db.read() as conn:
        payload = conn.execute(
            select(mail_outbox.c.payload).order_by(mail_outbox.c.id.desc()).limit(1)
        ).scalar_one()
    found = re.search(r"token=([\w-]+)", json.loads(payload)["text"])
    assert found
    return found.group(1)


def test_invite_accept_change_and_remove_keep_keystone_in_step(
    client: Any, container: Any, admin: Any, shop: Project
) -> None:
    team_directory(container.settings).set_role(
        project_id=shop.id, user_name=shop.user, role="owner"
    )
    owner = {"X-Auth-Token": keystone_token(shop.user)}
    email = f"carol-{uuid.uuid4().hex[:6]}@example.com"
    sent = client.post("/v1/invitations", json={"email": email, "role": "billing"}, headers=owner)
    assert sent.status_code == 201, sent.text
    joined = client.post(
        "/v1/invitations/accept",
        json={"token": _last_code(container), "password": "carol's long secret"},
    )
    assert joined.status_code == 201, joined.text
    assert _held(admin, shop.id, email) == {"reader", "sws_billing"}
    carol = _whoami(client, email, "carol's long secret")
    assert (carol["tenant_id"], carol["role"]) == (shop.id, "billing")

    user_id = joined.json()["user_id"]
    changed = client.patch(f"/v1/users/{user_id}", json={"role": "member"}, headers=owner)
    assert changed.status_code == 200, changed.text
    assert _held(admin, shop.id, email) == {"member"}
    assert _whoami(client, email, "carol's long secret")["role"] == "member"

    removed = client.delete(f"/v1/users/{user_id}", headers=owner)
    assert removed.status_code == 204, removed.text
    assert _held(admin, shop.id, email) == set()
