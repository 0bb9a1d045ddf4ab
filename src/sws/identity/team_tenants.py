"""A user in several tenants: its own, and the teams it joined by accepting an invitation with
the account it has. Each session acts in one of them (the user's own unless switched); the
role is the one the user holds there, read on every request, so a removal or a role change in
a team takes effect at once. API credentials stay bound to the tenant they were made in."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Connection

from sws.db.engine import Database
from sws.errors import Forbidden, NotFound, Unauthorized
from sws.identity import repository as repo
from sws.identity import team_repository as team_repo
from sws.identity.model import Principal, check_role, cloud_role

LEFT_TEAM = "the token's team is closed, or the user left it or was disabled in it"


@dataclass(frozen=True, slots=True)
class Place:
    """One tenant a user may act in, with its role there."""

    tenant_id: str
    tenant_name: str
    role: str
    own: bool  # the user's own tenant, not one it joined
    current: bool  # the one the caller acts in now


def acting_in(
    conn: Connection, principal: Principal, tenant_id: str, operator_tenant: str
) -> Principal:
    """The principal acting in a team it joined, with its role there; 401 when it left it,
    was disabled in it, or the team's tenant is disabled."""
    place = team_repo.get_membership(conn, principal.user_id, tenant_id)
    if place is None or not (place.enabled and place.tenant_enabled):
        raise Unauthorized(LEFT_TEAM)
    role = cloud_role(check_role(place.role), place.tenant_name, operator_tenant)
    return replace(principal, tenant_id=tenant_id, role=role)


def places(*, db: Database, caller: Principal) -> list[Place]:
    """The caller's own tenant first, then the teams it joined and may act in, by name."""
    with db.read() as conn:
        user = repo.get_user(conn, caller.user_id)
        if user is None:  # Keystone's user: it acts in its token's project, and only there
            tenant = repo.get_tenant(conn, caller.tenant_id)
            name = tenant.name if tenant else caller.tenant_id
            return [Place(caller.tenant_id, name, caller.role, own=True, current=True)]
        home = repo.get_tenant(conn, user.tenant_id)
        joined = team_repo.memberships_of(conn, caller.user_id)
    own = Place(
        tenant_id=user.tenant_id,
        tenant_name=home.name if home else user.tenant_id,
        role=user.role,
        own=True,
        current=caller.tenant_id == user.tenant_id,
    )
    return [own] + [
        Place(
            tenant_id=m.tenant_id,
            tenant_name=m.tenant_name,
            role=m.role,
            own=False,
            current=caller.tenant_id == m.tenant_id,
        )
        for m in joined
        if m.enabled and m.tenant_enabled
    ]


def switch(*, db: Database, caller: Principal, tenant_id: str) -> Place:
    """The caller's session acts in `tenant_id` from its next request: its own tenant or a
    team it joined (404 otherwise, as for any tenant it cannot see)."""
    if caller.via != "session":
        raise Forbidden("an API credential stays in the tenant it was made in", field="token")
    chosen = next((p for p in places(db=db, caller=caller) if p.tenant_id == tenant_id), None)
    if chosen is None:
        raise NotFound(f"tenant {tenant_id} not found")
    with db.begin() as conn:
        team_repo.scope_session(conn, caller.token_id, None if chosen.own else tenant_id)
    return replace(chosen, current=True)
