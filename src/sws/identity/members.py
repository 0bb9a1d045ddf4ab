"""An owner manages its own tenant's team: adds members, changes their roles, disables,
enables and removes them (invitations: sws.identity.invitations). The cloud's admin does the
same for any tenant through /v1/admin. A tenant always keeps an enabled owner: the last one
can be neither removed, demoted nor disabled, here or by its own account going away. A user
who joined from its own tenant is changed or removed only as a member of this team. Each
change is audited in its own transaction; in Keystone mode the user's role assignments on the
project follow inside it (sws.identity.team_keystone), so a refusal by Keystone undoes it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from sws.audit import repository as audit_repo
from sws.audit.model import AuditRecord, check_record
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, Forbidden, Invalid, NotFound
from sws.identity import repository as repo
from sws.identity import team_repository as team_repo
from sws.identity.auth import PasswordHashing
from sws.identity.model import Principal, User, check_name, check_password, check_role
from sws.identity.team_keystone import NO_DIRECTORY, TeamDirectory
from sws.identity.team_model import check_owner_remains, check_tenant_role

_passwords = PasswordHashing()


@dataclass(frozen=True, slots=True)
class NewMember:
    name: str
    password: str
    role: str = "member"


@dataclass(frozen=True, slots=True)
class MemberChange:
    """What an owner changes about a member: its role, whether it may log in, or both."""

    role: str | None = None
    enabled: bool | None = None


def check_manager(caller: Principal) -> None:
    if not caller.manages_users:
        raise Forbidden("only the tenant's owner manages its users", field="role")


def add_member(
    *, db: Database, clock: Clock, caller: Principal, member: NewMember,
    directory: TeamDirectory = NO_DIRECTORY,
) -> User:
    """A new member of the caller's tenant (in Keystone too, in Keystone mode)."""
    check_manager(caller)
    check_name(member.name, field="name")
    check_password(member.password)
    user = User(
        id=uuid.uuid4().hex,
        tenant_id=caller.tenant_id,
        name=member.name,
        role=check_role(check_tenant_role(member.role)),
        enabled=True,
        created_at=clock.now(),
    )
    password_hash = "" if directory.owns_passwords else _passwords.hash(member.password)
    with db.begin() as conn:
        if repo.user_name_taken(conn, member.name):
            raise Conflict(f"a user named {member.name!r} exists already", field="name")
        repo.insert_user(conn, user, password_hash)
        directory.join(project_id=caller.tenant_id, user_name=user.name, email="",
                       password=member.password, role=user.role)
        audit(conn, clock, caller, "user.create", user, f"name={user.name} role={user.role}")
    return user


def set_member_enabled(
    *, db: Database, clock: Clock, caller: Principal, user_id: str, enabled: bool,
    directory: TeamDirectory = NO_DIRECTORY,
) -> User:
    """Enable or disable a member of the caller's tenant; disabling ends its sessions."""
    return change_member(
        db=db, clock=clock, caller=caller, user_id=user_id, change=MemberChange(enabled=enabled),
        directory=directory,
    )


def change_member(
    *, db: Database, clock: Clock, caller: Principal, user_id: str, change: MemberChange,
    directory: TeamDirectory = NO_DIRECTORY,
) -> User:
    """Change a member's role or state; the tenant's last enabled owner stays one. A user who
    joined from its own tenant changes only here: its role and place in this team."""
    check_manager(caller)
    if change.role is None and change.enabled is None:
        raise Invalid("give a role, enabled, or both", field="role")
    role = check_role(check_tenant_role(change.role)) if change.role is not None else None
    with db.begin() as conn:
        user, joined = _team_member(conn, caller, user_id)
        owners = team_repo.lock_enabled_owners(conn, caller.tenant_id)
        if (role is not None and role != "owner") or change.enabled is False:
            check_owner_remains(owners, user.id)
        if role is not None and role != user.role:
            _set_role(conn, caller, user, role, joined)  # read live by every request
            audit(conn, clock, caller, "user.set_role", user, f"from={user.role} to={role}")
        if change.enabled is not None and change.enabled != user.enabled:
            _set_enabled(conn, clock, caller, user, change.enabled, joined)
        found, _ = _team_member(conn, caller, user_id)
        _keep_in_step(directory, caller, found)
    return found


def remove_member(
    *, db: Database, clock: Clock, caller: Principal, user_id: str,
    directory: TeamDirectory = NO_DIRECTORY,
) -> None:
    """Remove a user from the caller's tenant, with its sessions; never the last owner. A user
    who joined from its own tenant leaves this team and keeps its account."""
    check_manager(caller)
    with db.begin() as conn:
        user, joined = _team_member(conn, caller, user_id)
        check_owner_remains(team_repo.lock_enabled_owners(conn, caller.tenant_id), user.id)
        audit(conn, clock, caller, "user.remove", user, f"name={user.name} role={user.role}")
        directory.remove(project_id=caller.tenant_id, user_name=user.name)
        if joined:
            team_repo.delete_membership(conn, user.id, caller.tenant_id, clock.now())
            return
        _check_owner_of_teams(conn, user)
        team_repo.delete_user(conn, user_id, clock.now())


def _team_member(conn: Connection, caller: Principal, user_id: str) -> tuple[User, bool]:
    """The user as the caller's team sees it, and whether it joined from its own tenant."""
    user = repo.get_user(conn, user_id)
    if user is not None and user.tenant_id != caller.tenant_id:
        place = team_repo.get_membership(conn, user_id, caller.tenant_id)
        if place is None:
            raise NotFound(f"user {user_id} not found")
        seen = replace(user, tenant_id=caller.tenant_id, role=check_role(place.role),
                       enabled=place.enabled and user.enabled)
        return seen, True
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if user.role == "admin":
        raise Conflict(f"{user.name} is the cloud's admin: ask the cloud's admin", field="user_id")
    return user, False


def _keep_in_step(directory: TeamDirectory, caller: Principal, user: User) -> None:
    """The user's Keystone roles on the project as its role and state in the team say."""
    if user.enabled:
        directory.set_role(project_id=caller.tenant_id, user_name=user.name, role=user.role)
    else:
        directory.remove(project_id=caller.tenant_id, user_name=user.name)


def _check_owner_of_teams(conn: Connection, user: User) -> None:
    """A user whose own account goes away (disabled, removed) must not take the last owner
    of a team it joined with it."""
    for place in team_repo.memberships_of(conn, user.id):
        if place.role == "owner" and place.enabled:
            check_owner_remains(team_repo.lock_enabled_owners(conn, place.tenant_id), user.id)


def _set_role(conn: Connection, caller: Principal, user: User, role: str, joined: bool) -> None:
    if joined:
        team_repo.update_membership(conn, user.id, caller.tenant_id, {"role": role})
    else:
        repo.update_user(conn, user.id, {"role": role})


def _set_enabled(
    conn: Connection, clock: Clock, caller: Principal, user: User, enabled: bool, joined: bool
) -> None:
    """Disabling ends the user's sessions: all of them, or only those acting in this team."""
    now = clock.now()
    if joined:
        team_repo.update_membership(conn, user.id, caller.tenant_id, {"enabled": enabled})
        if not enabled:
            team_repo.revoke_team_sessions(conn, user.id, caller.tenant_id, now)
    else:
        if not enabled:
            _check_owner_of_teams(conn, user)
        repo.update_user(conn, user.id, {"enabled": enabled})
        if not enabled:
            repo.revoke_user_tokens(conn, user.id, now)
    audit(conn, clock, caller, "user.enable" if enabled else "user.disable", user, "")


def audit(
    conn: Connection, clock: Clock, caller: Principal, action: str, user: User, detail: str
) -> None:
    record = AuditRecord(
        actor_user_id=caller.user_id,
        actor_name=caller.user_name,
        action=action,
        target_type="user",
        target_id=user.id,
        detail=detail,
        source="api",
    )
    audit_repo.insert_entry(conn, check_record(record), clock.now())
