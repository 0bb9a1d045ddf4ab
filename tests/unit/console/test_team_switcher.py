"""The console for a user in several tenants: bob, who has an account in globex, accepts
acme's invitation with his own password, then switches between his tenants in the header."""

from __future__ import annotations

import re

from sqlalchemy import update

from sws.identity import service as identity
from sws.identity.tables import users
from tests.unit.console.conftest import PASSWORD, Console
from tests.unit.console.test_team_and_quota_pages import _last_mail


def _invite_bob(console: Console) -> str:
    with console.container.db.begin() as conn:
        conn.execute(update(users).where(users.c.name == "bob").values(email="bob@example.com"))
    identity.create_user(
        db=console.container.db,
        clock=console.clock,
        tenant_id=console.tenants["acme"],
        name="olga",
        password=PASSWORD,
        role="owner",
    )
    owner = console.browser("olga")
    owner.post(
        "/console/users/invitations",
        {"email": "bob@example.com", "role": "viewer"},
        page="/console/users",
    )
    code = re.search(r"token=([A-Za-z0-9_-]+)", _last_mail(console)["text"])
    assert code
    return code.group(1)


def test_an_existing_user_joins_and_switches_tenant_in_the_header(console: Console) -> None:
    code = _invite_bob(console)
    bob = console.browser()
    form = bob.get(f"/console/invitations/accept?token={code}")
    assert 'id="accept-existing"' in form.text
    joined = bob.post(
        "/console/invitations/accept",
        {"token": code, "password": PASSWORD},
        page=f"/console/invitations/accept?token={code}",
        follow=True,
    )
    assert joined.url.path == "/console/login", joined.text
    bob = console.browser("bob")
    home = bob.get("/console/")
    assert 'id="tenant-switch"' in home.text and "@ globex" in home.text
    switched = bob.post("/console/tenant", {"tenant_id": console.tenants["acme"]}, follow=True)
    assert "@ acme" in switched.text, switched.text
    launch = bob.post("/console/instances/launch", {"name": "x"}, page="/console/instances")
    assert launch.status_code == 403  # a viewer in acme
    back = bob.post("/console/tenant", {"tenant_id": console.tenants["globex"]}, follow=True)
    assert "@ globex" in back.text


def test_a_user_in_one_tenant_sees_no_switcher_and_cannot_switch_away(console: Console) -> None:
    alice = console.browser("alice")
    assert 'id="tenant-switch"' not in alice.get("/console/").text
    refused = alice.post("/console/tenant", {"tenant_id": console.tenants["globex"]}, follow=True)
    assert "@ acme" in refused.text
