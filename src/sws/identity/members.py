"""An owner manages its own tenant's users: adds members, disables and enables them. The
cloud's admin does the same for any tenant through /v1/admin; nobody else can. Each change
is audited in its own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Connection

from sws.audit import repository as audit_repo
from sws.audit.model import AuditRecord, check_record
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, Forbidden, NotFound
from sws.identity import repository as repo
from sws.identity.auth import PasswordHashing
from sws.identity.model import Principal, User, check_name, check_password

_passwords = PasswordHashing()


@dataclass(frozen=True, slots=True)
class NewMember:
    name: str
    password: str


def _check_manager(caller: Principal) -> None:
    if not caller.manages_users:
        raise Forbidden("only the tenant's owner manages its users", field="role")


def add_member(*, db: Database, clock: Clock, caller: Principal, member: NewMember) -> User:
    """A new member of the caller's tenant."""
    _check_manager(caller)
    check_name(member.name, field="name")
    check_password(member.password)
    user = User(
        id=uuid.uuid4().hex,
        tenant_id=caller.tenant_id,
        name=member.name,
        role="member",
        enabled=True,
        created_at=clock.now(),
    )
    password_hash = _passwords.hash(member.password)
    with db.begin() as conn:
        if repo.user_name_taken(conn, member.name):
            raise Conflict(f"a user named {member.name!r} exists already", field="name")
        repo.insert_user(conn, user, password_hash)
        _audit(conn, clock, caller, "user.create", user, f"name={user.name} role=member")
    return user


def set_member_enabled(
    *, db: Database, clock: Clock, caller: Principal, user_id: str, enabled: bool
) -> User:
    """Enable or disable a member of the caller's tenant; disabling ends its sessions. An
    owner is changed only by the cloud's admin (so a tenant never locks itself out)."""
    _check_manager(caller)
    with db.begin() as conn:
        user = repo.get_user(conn, user_id)
        if user is None or user.tenant_id != caller.tenant_id:
            raise NotFound(f"user {user_id} not found")
        if user.role != "member":
            raise Conflict(
                f"{user.name} is the tenant's {user.role}: ask the cloud's admin", field="user_id"
            )
        repo.update_user(conn, user_id, {"enabled": enabled})
        if not enabled:
            repo.revoke_user_tokens(conn, user_id, clock.now())
        _audit(conn, clock, caller, "user.enable" if enabled else "user.disable", user, "")
        found = repo.get_user(conn, user_id)
    assert found is not None
    return found


def _audit(
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
