"""Sign-up in Keystone mode, against a fake Keystone identity service: the tenant is the new
project, the owner a Keystone user with the member role, and the owner chooses a password
through a mailed link (SWS never holds one in the clear to hand over)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Unavailable
from sws.identity.tables import tenants
from sws.mail.tables import mail_outbox
from sws.signup.accounts import KeystoneAccounts
from sws.signup.limits import DatabaseHits, Limiter
from sws.signup.service import FrontDoor, FrontDoorConfig, SignupRequest


@dataclass
class Thing:
    id: str
    name: str
    extra: dict[str, Any] = field(default_factory=dict)


class FakeIdentity:
    """The few openstacksdk identity calls KeystoneAccounts makes, kept in dictionaries."""

    def __init__(self) -> None:
        self.projects: dict[str, Thing] = {}
        self.users: dict[str, Thing] = {}
        self.grants: list[tuple[str, str, str]] = []
        self.down = False
        self.waited: list[float] = []  # the seconds a password change waited out

    def create_project(self, *, name: str, domain_id: str) -> Thing:
        if self.down:
            raise ConnectionError("keystone is down")
        project = Thing(f"p{len(self.projects)}", name, {"domain_id": domain_id})
        self.projects[project.id] = project
        return project

    def create_user(self, *, name: str, **extra: Any) -> Thing:
        user = Thing(f"u{len(self.users)}", name, extra)
        self.users[user.id] = user
        return user

    def find_role(self, name: str, ignore_missing: bool = True) -> Thing:
        return Thing(f"role-{name}", name)

    def assign_project_role_to_user(self, project: Any, user: Thing, role: Thing) -> None:
        self.grants.append((getattr(project, "id", project), user.id, role.name))

    def validate_user_has_project_role(self, project: Any, user: Thing, role: Thing) -> bool:
        return (getattr(project, "id", project), user.id, role.name) in self.grants

    def find_user(self, name: str, domain_id: str, ignore_missing: bool = True) -> Thing:
        return next(u for u in self.users.values() if u.name == name)

    def update_user(self, user: Thing, *, password: str) -> None:
        user.extra["password"] = password


@dataclass
class FakeConnection:
    identity: FakeIdentity


@pytest.fixture
def keystone() -> FakeIdentity:
    return FakeIdentity()


def _door(database: Database, clock: SimulatedClock, keystone: FakeIdentity) -> FrontDoor:
    accounts = KeystoneAccounts(
        lambda: FakeConnection(keystone), member_role="member", wait=keystone.waited.append
    )
    return FrontDoor(
        db=database,
        clock=clock,
        config=FrontDoorConfig(mode="open"),
        limiter=Limiter(store=DatabaseHits(database), clock=clock),
        accounts=accounts,
    )


def _signed_up(database: Database, clock: SimulatedClock, keystone: FakeIdentity) -> FrontDoor:
    """A front door over the fake Keystone, with ann's sign-up of anncorp mailed."""
    door = _door(database, clock, keystone)
    request = SignupRequest(
        email="ann@example.com", password="correct horse battery", tenant_name="anncorp"
    )
    door.sign_up(request)
    return door


def _codes(database: Database) -> list[str]:
    with database.read() as conn:
        texts = [
            json.loads(p)["text"]
            for p in conn.execute(
                select(mail_outbox.c.payload).order_by(mail_outbox.c.id)
            ).scalars()
        ]
    return [m.group(1) for t in texts if (m := re.search(r"token=([\w-]+)", t))]


def test_the_tenant_is_a_new_keystone_project_and_the_owner_sets_a_password_by_link(
    database: Database, clock: SimulatedClock, keystone: FakeIdentity
) -> None:
    door = _signed_up(database, clock, keystone)
    outcome = door.verify(token=_codes(database)[0])
    (project,) = keystone.projects.values()
    (user,) = keystone.users.values()
    assert outcome.tenant_id == project.id and project.name == "anncorp"
    assert keystone.grants == [(project.id, user.id, "member"), (project.id, user.id, "sws_owner")]
    assert user.name == "ann@example.com" and "correct horse battery" not in str(user.extra)
    with database.read() as conn:
        assert (
            conn.execute(select(tenants.c.id).where(tenants.c.name == "anncorp")).scalar()
            == project.id
        )
    assert keystone.waited == []
    choose = _codes(database)[-1]
    door.confirm_reset(token=choose, password="my own fine secret")
    assert user.extra["password"] == "my own fine secret"
    # Keystone refuses tokens issued in the second of the change: the reset outlasts it.
    assert sum(keystone.waited) >= 1.0


def test_keystone_down_opens_nothing_and_the_code_still_works_later(
    database: Database, clock: SimulatedClock, keystone: FakeIdentity
) -> None:
    door = _signed_up(database, clock, keystone)
    keystone.down = True
    with pytest.raises(Unavailable):
        door.verify(token=_codes(database)[0])
    with database.read() as conn:
        assert conn.execute(select(tenants.c.id)).all() == []
    keystone.down = False
    assert door.verify(token=_codes(database)[0]).state == "active"
