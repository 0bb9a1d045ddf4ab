"""The front door on real OpenStack (issue 14): a stranger's sign-up opens a real Keystone
project whose owner holds `member` and `sws_owner` and logs in to Keystone with the password
chosen through the mailed link; StackLab's free tier then sets the free quota on that project
through Nova's quota set and Neutron's quota (read back from both), and leaves it once an
approved quota request set more. The package's SWS is shared with the other modules, so
every tenant but this module's own is exempt from the free tier's pass."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy import select

from sws.community import service as community
from sws.community.model import Terms
from sws.identity.tables import tenants
from sws.mail.tables import mail_outbox
from sws.signup.service import FrontDoor, SignupRequest

from .conftest import _operator_admin, keystone_token
from .test_quota_requests_real import _novas_and_neutrons

FREE = {
    "instances": 2, "cores": 2, "ram_mb": 4096, "floating_ips": 1, "security_groups": 5,
    "key_pairs": 10,
}
CHOSEN = "a long fine secret 42"


@dataclass
class Stranger:
    email: str
    tenant_id: str


def _links(container: Any, email: str) -> list[str]:
    """The codes of the links mailed to `email`, oldest first."""
    with container.db.read() as conn:
        payloads = conn.execute(select(mail_outbox.c.payload).order_by(mail_outbox.c.id))
        texts = [m["text"] for m in map(json.loads, payloads.scalars()) if m["to"] == email]
    return [m.group(1) for t in texts if (m := re.search(r"token=([\w-]+)", t))]


@pytest.fixture(scope="module")
def stranger(admin: Any, container: Any) -> Iterator[Stranger]:
    """A stranger signed up through SWS's front door (open) and confirmed by the mailed code;
    the Keystone project and user are deleted afterwards."""
    door = FrontDoor(
        db=container.db, clock=container.clock,
        config=replace(container.front_door.config, mode="open"),
        limiter=container.front_door.limiter, accounts=container.front_door.accounts,
    )
    suffix = uuid.uuid4().hex[:6]
    email = f"ann-{suffix}@example.org"
    door.sign_up(SignupRequest(email=email, password=CHOSEN, tenant_name=f"ann-{suffix}"))
    verified = door.verify(token=_links(container, email)[0])
    assert verified.state == "active" and verified.tenant_id, verified
    try:
        door.confirm_reset(token=_links(container, email)[-1], password=CHOSEN)
        yield Stranger(email, verified.tenant_id)
    finally:
        for user in admin.identity.users(default_project_id=verified.tenant_id):
            admin.identity.delete_user(user)
        admin.identity.delete_project(verified.tenant_id)


def test_a_sign_up_opens_a_keystone_project_its_owner_logs_in_to(
    admin: Any, client: Any, stranger: Stranger
) -> None:
    project = admin.identity.get_project(stranger.tenant_id)
    user = admin.identity.find_user(stranger.email, domain_id="default", ignore_missing=False)
    roles = {
        a.role["id"] for a in admin.identity.role_assignments(
            user_id=user.id, scope_project_id=project.id
        )
    }
    names = {admin.identity.get_role(r).name for r in roles}
    assert names == {"member", "sws_owner"}, names
    mine = {"X-Auth-Token": keystone_token(stranger.email, CHOSEN)}
    places = client.get("/v1/account/tenants", headers=mine)
    assert places.status_code == 200, places.text
    (place,) = places.json()
    assert (place["tenant_id"], place["role"]) == (project.id, "owner"), place
    assert client.get("/v1/invitations", headers=mine).status_code == 200  # the owner's own


def _terms(container: Any, tenant_id: str) -> Terms:
    """RegionOne free, every other tenant of the shared SWS exempt."""
    with container.db.read() as conn:
        others = conn.execute(select(tenants.c.name).where(tenants.c.id != tenant_id))
        exempt = frozenset(others.scalars())
    return Terms(regions=frozenset({"RegionOne"}), quota=dict(FREE), exempt_tenants=exempt)


def _pass(container: Any, terms: Terms) -> int:
    return community.quota_pass(
        db=container.db, clock=container.clock, drivers=container.drivers(), terms=terms
    )


def test_the_free_tier_sets_novas_and_neutrons_quota_and_a_request_wins(
    client: Any, admin: Any, container: Any, stranger: Stranger
) -> None:
    assert _novas_and_neutrons(admin, stranger.tenant_id)["instances"] == 10  # Nova's default
    terms = _terms(container, stranger.tenant_id)
    assert _pass(container, terms) == 1
    assert _novas_and_neutrons(admin, stranger.tenant_id) == FREE
    mine = {"X-Auth-Token": keystone_token(stranger.email, CHOSEN)}
    shown = client.get("/v1/quotas", headers=mine).json()["limits"]
    assert {k: shown[k] for k in FREE} == FREE

    asked = client.post(
        "/v1/quota-requests", json={"reason": "a course", "limits": {"instances": 4}},
        headers=mine,
    )
    assert asked.status_code == 201, asked.text
    if asked.json()["state"] == "pending":
        operator = {"X-Auth-Token": keystone_token(_operator_admin(admin))}
        done = client.post(
            f"/v1/admin/quota-requests/{asked.json()['id']}/approve", json={"note": "ok"},
            headers=operator,
        )
        assert done.status_code == 200, done.text
    # The operator raises the free tier's cores: the approved request's project is left alone.
    assert _pass(container, replace(terms, quota={**FREE, "cores": 3})) == 0
    assert _novas_and_neutrons(admin, stranger.tenant_id) == {**FREE, "instances": 4}
