"""Team persistence: invitations, memberships of other tenants, a tenant's owners (locked)
and a member's removal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, RowMapping, and_, delete, select, update

from sws.db.metadata import metadata
from sws.db.migrate import load_all_tables
from sws.identity import tables as t
from sws.identity.model import User, check_role
from sws.identity.team_model import Invitation, Membership
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
    """The ids of the tenant's enabled owners (its own users and those who joined it),
    locked until the transaction ends, so two owners demoting each other at once cannot both
    succeed."""
    own = (
        select(t.users.c.id)
        .where(t.users.c.tenant_id == tenant_id, t.users.c.role == "owner",
               t.users.c.enabled.is_(True))
        .with_for_update()
    )
    m = t.memberships
    joined = (
        select(m.c.user_id)
        .join(t.users, t.users.c.id == m.c.user_id)
        .where(m.c.tenant_id == tenant_id, m.c.role == "owner", m.c.enabled.is_(True),
               t.users.c.enabled.is_(True))
        .with_for_update()
    )
    return list(conn.execute(own).scalars()) + list(conn.execute(joined).scalars())


def password_hash(conn: Connection, user_id: str) -> str:
    query = select(t.users.c.password_hash).where(t.users.c.id == user_id)
    return str(conn.execute(query).scalar_one_or_none() or "")


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


def _membership(row: RowMapping) -> Membership:
    return Membership(
        user_id=row["user_id"], tenant_id=row["tenant_id"], tenant_name=row["tenant_name"],
        role=row["role"], enabled=bool(row["enabled"]),
        tenant_enabled=bool(row["tenant_enabled"]),
    )


def _memberships_query() -> Any:
    m = t.memberships
    return (
        select(m, t.tenants.c.name.label("tenant_name"),
               t.tenants.c.enabled.label("tenant_enabled"))
        .join(t.tenants, t.tenants.c.id == m.c.tenant_id)
        .order_by(t.tenants.c.name)
    )


def insert_membership(conn: Connection, user_id: str, tenant_id: str, role: str,
                      now: datetime) -> None:
    conn.execute(t.memberships.insert().values(
        user_id=user_id, tenant_id=tenant_id, role=role, enabled=True, created_at=now))


def get_membership(conn: Connection, user_id: str, tenant_id: str) -> Membership | None:
    m = t.memberships
    query = _memberships_query().where(m.c.user_id == user_id, m.c.tenant_id == tenant_id)
    row = conn.execute(query).mappings().first()
    return _membership(row) if row else None


def memberships_of(conn: Connection, user_id: str) -> list[Membership]:
    """The tenants a user joined besides its own, by tenant name."""
    query = _memberships_query().where(t.memberships.c.user_id == user_id)
    return [_membership(r) for r in conn.execute(query).mappings()]


def update_membership(
    conn: Connection, user_id: str, tenant_id: str, values: dict[str, Any]
) -> None:
    m = t.memberships
    conn.execute(
        update(m).where(m.c.user_id == user_id, m.c.tenant_id == tenant_id).values(**values)
    )


def delete_membership(conn: Connection, user_id: str, tenant_id: str, now: datetime) -> None:
    """The user leaves the team; its sessions acting in the team end."""
    m = t.memberships
    conn.execute(delete(m).where(m.c.user_id == user_id, m.c.tenant_id == tenant_id))
    revoke_team_sessions(conn, user_id, tenant_id, now)


def revoke_team_sessions(conn: Connection, user_id: str, tenant_id: str, now: datetime) -> None:
    tokens = t.tokens
    conn.execute(
        update(tokens)
        .where(tokens.c.user_id == user_id, tokens.c.tenant_id == tenant_id,
               tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def joined_members(conn: Connection, tenant_id: str) -> list[User]:
    """The users who joined the tenant from their own, as the team sees them: with their role
    in it, enabled only when both they and their place in it are."""
    m = t.memberships
    query = (
        select(t.users.c.id, t.users.c.name, t.users.c.created_at,
               m.c.role, and_(m.c.enabled, t.users.c.enabled).label("enabled"))
        .join(t.users, t.users.c.id == m.c.user_id)
        .where(m.c.tenant_id == tenant_id)
    )
    return [
        User(id=r["id"], tenant_id=tenant_id, name=r["name"], role=check_role(r["role"]),
             enabled=bool(r["enabled"]), created_at=r["created_at"])
        for r in conn.execute(query).mappings()
    ]


def scope_session(conn: Connection, token_id: str, tenant_id: str | None) -> None:
    """The session acts in `tenant_id` from now on (None: the user's own tenant)."""
    conn.execute(update(t.tokens).where(t.tokens.c.id == token_id).values(tenant_id=tenant_id))
