"""The audit record of a change a user makes to its own account, in the change's transaction."""

from __future__ import annotations

from sqlalchemy import Connection

from sws.audit import repository as audit_repo
from sws.audit.model import AuditRecord, check_record
from sws.clock import Clock
from sws.identity.model import Principal, User


def audit_own(
    conn: Connection, clock: Clock, caller: Principal, action: str, detail: str = "",
    address: str | None = None,
) -> None:
    record = AuditRecord(
        actor_user_id=caller.user_id, actor_name=caller.user_name, action=action,
        target_type="user", target_id=caller.user_id, detail=detail, source="account",
        remote_addr=address,
    )
    audit_repo.insert_entry(conn, check_record(record), clock.now())


def audit_user(
    conn: Connection, clock: Clock, user: User, action: str, detail: str = ""
) -> None:
    """A change the user made through a mailed link, with no session behind it."""
    record = AuditRecord(
        actor_user_id=user.id, actor_name=user.name, action=action, target_type="user",
        target_id=user.id, detail=detail, source="account",
    )
    audit_repo.insert_entry(conn, check_record(record), clock.now())


def audit_admin(conn: Connection, clock: Clock, admin: Principal, action: str, user: User) -> None:
    """The cloud's admin changed a user's account security."""
    record = AuditRecord(
        actor_user_id=admin.user_id, actor_name=admin.user_name, action=action,
        target_type="user", target_id=user.id, detail=f"name={user.name}", source="api",
    )
    audit_repo.insert_entry(conn, check_record(record), clock.now())
