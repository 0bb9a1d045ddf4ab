"""Whatever an owner and its team do (invite, accept, change roles, disable, remove), the
tenant keeps an enabled owner, and nobody can do more than their role allows."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Forbidden, SWSError
from sws.identity import members
from sws.identity import service as identity
from sws.identity.invitations import Acceptance, InvitationRequest, Team, TeamConfig
from sws.identity.model import Principal, User
from sws.identity.roles import AREAS, TENANT_ROLES, Action, allows
from sws.identity.team_repository import lock_enabled_owners
from sws.mail.tables import mail_outbox
from sws.signup.model import PasswordPolicy

PASSWORD = "team secret 123"
ROLE = st.sampled_from(TENANT_ROLES)
PICK = st.integers(min_value=0, max_value=7)  # an index into the tenant's users (modulo)
STEP = st.one_of(
    st.tuples(st.just("invite"), PICK, ROLE),
    st.tuples(st.just("accept"), PICK, st.just("")),
    st.tuples(st.just("role"), PICK, PICK, ROLE),
    st.tuples(st.just("disable"), PICK, PICK),
    st.tuples(st.just("enable"), PICK, PICK),
    st.tuples(st.just("remove"), PICK, PICK),
    st.tuples(st.just("revoke"), PICK, PICK),
)
_names = itertools.count()


@dataclass
class World:
    db: Database
    clock: SimulatedClock
    team: Team
    tenant_id: str
    codes: list[str] = field(default_factory=list)
    invited: list[str] = field(default_factory=list)

    def users(self) -> list[User]:
        return identity.list_users(db=self.db, tenant_id=self.tenant_id, limit=100, marker=None)

    def actor(self, pick: int) -> Principal:
        enabled = [u for u in self.users() if u.enabled]
        user = enabled[pick % len(enabled)]
        return Principal(user_id=user.id, user_name=user.name, tenant_id=user.tenant_id,
                         role=user.role, token_id="", expires_at=self.clock.now())

    def target(self, pick: int) -> str:
        found = self.users()
        return found[pick % len(found)].id


def _world(db: Database, clock: SimulatedClock) -> World:
    n = next(_names)
    tenant = identity.create_tenant(db=db, clock=clock, name=f"team{n}")
    identity.create_user(db=db, clock=clock, tenant_id=tenant.id, name=f"founder{n}",
                         password=PASSWORD, role="owner")
    config = TeamConfig(passwords=PasswordPolicy(min_length=8))
    return World(db=db, clock=clock, team=Team(db=db, clock=clock, config=config),
                 tenant_id=tenant.id)


def _run(world: World, step: tuple[object, ...]) -> None:
    """One step; a refusal is fine, but a non-owner changing the team must be Forbidden."""
    kind = step[0]
    if kind == "accept":
        if world.codes:
            code = world.codes[int(str(step[1])) % len(world.codes)]
            world.team.accept(acceptance=Acceptance(token=code, password=PASSWORD,
                                                    name=f"joiner{next(_names)}"))
        return
    actor = world.actor(int(str(step[1])))
    try:
        _team_change(world, actor, step)
    except Forbidden:
        assert actor.role != "owner", step
        return
    assert actor.role == "owner", f"{actor.role} did {step}"


def _team_change(world: World, actor: Principal, step: tuple[object, ...]) -> None:
    kind, db, clock = step[0], world.db, world.clock
    if kind == "invite":
        invitation = world.team.invite(caller=actor, request=InvitationRequest(
            email=f"person{next(_names)}@example.com", role=str(step[2])))
        world.invited.append(invitation.id)
        world.codes.append(_last_code(world))
    elif kind == "role":
        change = members.MemberChange(role=str(step[3]))
        members.change_member(db=db, clock=clock, caller=actor,
                              user_id=world.target(int(str(step[2]))), change=change)
    elif kind in ("disable", "enable"):
        members.set_member_enabled(db=db, clock=clock, caller=actor,
                                   user_id=world.target(int(str(step[2]))),
                                   enabled=kind == "enable")
    elif kind == "remove":
        members.remove_member(db=db, clock=clock, caller=actor,
                              user_id=world.target(int(str(step[2]))))
    elif world.invited:
        chosen = world.invited[int(str(step[2])) % len(world.invited)]
        world.team.revoke(caller=actor, invitation_id=chosen)
    else:
        members.check_manager(actor)


def _last_code(world: World) -> str:
    """The code in the invitation mail just enqueued, as the invitee reads it."""
    with world.db.read() as conn:
        payload = conn.execute(
            select(mail_outbox.c.payload).order_by(mail_outbox.c.id.desc()).limit(1)
        ).scalar_one()
    found = re.search(r"token=([A-Za-z0-9_-]+)", json.loads(payload)["text"])
    assert found
    return found.group(1)


def _may(role: str, action: Action) -> bool:
    """The roles as the product describes them, independently of the policy's tables."""
    if action.area == "admin":
        return role == "admin"
    if action.verb == "read" or action.area == "session" or role == "owner":
        return True
    if role == "member":
        return action.area != "team"
    return role == "billing" and action.area == "billing"


def _check(world: World) -> None:
    with world.db.read() as conn:
        assert lock_enabled_owners(conn, world.tenant_id), "the tenant lost its last owner"
    for user in world.users():
        for area, verb in itertools.product(AREAS, ("read", "write")):
            action = Action(area, verb)  # type: ignore[arg-type]
            assert allows(user.role, action) == _may(user.role, action), (user.role, action)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, max_size=12))
def test_no_sequence_leaves_a_tenant_without_an_owner_or_a_member_beyond_its_role(
    database: Database, clock: SimulatedClock, steps: list[tuple[object, ...]]
) -> None:
    world = _world(database, clock)
    for step in steps:
        try:
            _run(world, step)
        except Forbidden:
            raise
        except SWSError:
            pass  # a refusal (the last owner, a used code, a revoked invitation) is fine
        _check(world)
        clock.advance(timedelta(minutes=5))
