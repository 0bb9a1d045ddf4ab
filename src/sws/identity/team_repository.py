"""Team persistence: invitations, a tenant's owners (locked) and a member's removal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, RowMapping, delete, select, update

from sws.db.metadata import metadata
from sws.db.migrate import load_all_tables
from sws.identity import tables as t
from sws.identity.team_model import Invitation
from sws.signup import tables as signup_tables


def _invitation(row: RowMapping) -> Invitation:
    return Invitation(
        id=row["id"], tenant_id=row["tenant_id"], email=row["email"], role=row["role"],
        language=row["language"], invited_by=row["invited_by"], created_at=row["created_at"],
        expires_at=row["expires_at"], accepted_at=row["accepted_at"],
        revoked_at=row["revoked_at"], user_id=row["user_id"],
    )


def insert_invitation(conn: Connection, invitation: Invitation, token_hash: str) -> None:
    values = {name: getattr(invitation, name) for name in Invitation.__dataclass_fields__}
    conn.execute(t.invitations.insert().values(**values, token_hash=token_hash))


def get_invitation(conn: Connection, invitation_id: str) -> Invitation | None:
    query = select(t.invitations).where(t.invitations.c.id == invitation_id)
    row = conn.execute(query).mappings().first()
    return _invitation(row) if row else None


def find_invitation_by_token(conn: Connection, token_hash: str) -> Invitation | None:
    """The invitation with this code's hash, locked until the transaction ends."""
    query = (
        select(t.invitations).where(t.invitations.c.token_hash == token_hash).with_for_update()
    )
    row = conn.execute(query).mappings().first()
    return _invitation(row) if row else None


def list_invitations(
    conn: Connection, tenant_id: str, limit: int, marker: str | None
) -> list[Invitation]:
    query = (
        select(t.invitations).where(t.invitations.c.tenant_id == tenant_id)
        .order_by(t.invitations.c.id).limit(limit)
    )
    if marker is not None:
        query = query.where(t.invitations.c.id > marker)
    return [_invitation(r) for r in conn.execute(query).mappings()]


def update_invitation(conn: Connection, invitation_id: str, values: dict[str, Any]) -> None:
    conn.execute(
        update(t.invitations).where(t.invitations.c.id == invitation_id).values(**values)
    )


def lock_enabled_owners(conn: Connection, tenant_id: str) -> list[str]:
    """The ids of the tenant's enabled owners, locked until the transaction ends, so two
    owners demoting each other at once cannot both succeed."""
    query = (
        select(t.users.c.id)
        .where(t.users.c.tenant_id == tenant_id, t.users.c.role == "owner",
               t.users.c.enabled.is_(True))
        .with_for_update()
    )
    return list(conn.execute(query).scalars())


def email_taken(conn: Connection, email: str) -> bool:
    query = select(t.users.c.id).where(t.users.c.email == email)
    return conn.execute(query).first() is not None


def delete_user(conn: Connection, user_id: str, now: datetime) -> None:
    """Remove a user and every row whose foreign key hangs on it (tokens, reset codes, second
    factors, credentials...); a sign-up it came from keeps its row (one tenant per address)
    without the user."""
    for column in _hanging_on_users():
        conn.execute(delete(column.table).where(column == user_id))
    signups = signup_tables.signups
    conn.execute(
        update(signups).where(signups.c.user_id == user_id).values(user_id=None, updated_at=now)
    )
    conn.execute(delete(t.users).where(t.users.c.id == user_id))


def _hanging_on_users() -> list[Column[Any]]:
    """Every column with a foreign key to users.id, children before their parents."""
    load_all_tables()
    return [
        fk.parent
        for table in reversed(metadata.sorted_tables)
        for fk in table.foreign_keys
        if fk.column is t.users.c.id
    ]
