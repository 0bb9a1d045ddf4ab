"""Identity persistence: rows in, identity values out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, func, or_, select, update

from sws.db.bulk import among
from sws.identity import tables as t
from sws.identity.model import Region, Tenant, User, check_role


def _tenant(row: RowMapping) -> Tenant:
    return Tenant(
        id=row["id"],
        name=row["name"],
        billing_timezone=row["billing_timezone"],
        currency=row["currency"],
        enabled=row["enabled"],
        created_at=row["created_at"],
    )


def _user(row: RowMapping) -> User:
    return User(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        role=check_role(row["role"]),
        enabled=row["enabled"],
        created_at=row["created_at"],
    )


def ensure_region(conn: Connection, name: str, description: str = "") -> None:
    if conn.execute(select(t.regions.c.name).where(t.regions.c.name == name)).first() is None:
        conn.execute(t.regions.insert().values(name=name, description=description))


def list_regions(conn: Connection) -> list[Region]:
    rows = conn.execute(select(t.regions).order_by(t.regions.c.name)).mappings()
    return [Region(name=r["name"], description=r["description"]) for r in rows]


def insert_tenant(conn: Connection, tenant: Tenant) -> None:
    conn.execute(t.tenants.insert().values(**_fields(tenant)))


def get_tenant(conn: Connection, tenant_id: str) -> Tenant | None:
    row = conn.execute(select(t.tenants).where(t.tenants.c.id == tenant_id)).mappings().first()
    return _tenant(row) if row else None


def tenant_names(conn: Connection, tenant_ids: Iterable[str]) -> dict[str, str]:
    """The names of the tenants among `tenant_ids` that exist."""
    query = _names_of(conn.dialect.name)
    return {row.id: row.name for row in conn.execute(query, {"ids": list(tenant_ids)})}


@cache
def _names_of(dialect: str) -> Select[Any]:
    return select(t.tenants.c.id, t.tenants.c.name).where(among(dialect, t.tenants.c.id))


def tenant_name_taken(conn: Connection, name: str) -> bool:
    query = select(t.tenants.c.id).where(t.tenants.c.name == name)
    return conn.execute(query).first() is not None


def list_tenants(conn: Connection, limit: int, marker: str | None) -> list[Tenant]:
    query = select(t.tenants).order_by(t.tenants.c.name).limit(limit)
    if marker is not None:
        query = query.where(t.tenants.c.name > _tenant_name(conn, marker))
    return [_tenant(r) for r in conn.execute(query).mappings()]


def _tenant_name(conn: Connection, tenant_id: str) -> str:
    name = conn.execute(select(t.tenants.c.name).where(t.tenants.c.id == tenant_id)).scalar()
    return str(name) if name is not None else ""


def update_tenant(conn: Connection, tenant_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id).values(**values))


def tenant_ids(conn: Connection) -> list[str]:
    return list(conn.execute(select(t.tenants.c.id).order_by(t.tenants.c.id)).scalars())


def count_tenants(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.tenants)).scalar_one())


def insert_user(
    conn: Connection, user: User, password_hash: str, email: str | None = None
) -> None:
    conn.execute(
        t.users.insert().values(**_fields(user), password_hash=password_hash, email=email)
    )


def get_user(conn: Connection, user_id: str) -> User | None:
    row = conn.execute(select(t.users).where(t.users.c.id == user_id)).mappings().first()
    return _user(row) if row else None


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user as a login sees it: with its password hash and its tenant's name and state."""

    user: User
    password_hash: str
    tenant_name: str
    tenant_enabled: bool


def find_credentials(conn: Connection, name: str) -> Credentials | None:
    query = (
        select(t.users, t.tenants.c.name.label("tenant_name"),
               t.tenants.c.enabled.label("tenant_enabled"))
        .join(t.tenants, t.tenants.c.id == t.users.c.tenant_id)
        .where(or_(t.users.c.name == name, t.users.c.email == name.lower()))
        .order_by((t.users.c.name == name).desc())  # a user's own name before an e-mail
    )
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return Credentials(
        user=_user(row), password_hash=row["password_hash"], tenant_name=row["tenant_name"],
        tenant_enabled=bool(row["tenant_enabled"]),
    )


def find_user_by_email(conn: Connection, email: str) -> User | None:
    query = select(t.users).where(t.users.c.email == email.lower())
    row = conn.execute(query).mappings().first()
    return _user(row) if row else None


def user_email(conn: Connection, user_id: str) -> str | None:
    query = select(t.users.c.email).where(t.users.c.id == user_id)
    return conn.execute(query).scalar_one_or_none()


def find_user_by_name(conn: Connection, name: str) -> User | None:
    row = conn.execute(select(t.users).where(t.users.c.name == name)).mappings().first()
    return _user(row) if row else None


def find_tenant_by_name(conn: Connection, name: str) -> Tenant | None:
    row = conn.execute(select(t.tenants).where(t.tenants.c.name == name)).mappings().first()
    return _tenant(row) if row else None


def lock_enabled_admins(conn: Connection, tenant_id: str) -> list[str]:
    """The ids of the tenant's enabled admins, locked until the transaction ends."""
    query = (
        select(t.users.c.id)
        .where(t.users.c.tenant_id == tenant_id, t.users.c.role == "admin",
               t.users.c.enabled.is_(True))
        .with_for_update()
    )
    return list(conn.execute(query).scalars())


def user_name_taken(conn: Connection, name: str) -> bool:
    return conn.execute(select(t.users.c.id).where(t.users.c.name == name)).first() is not None


def list_users(
    conn: Connection, tenant_id: str | None, limit: int, marker: str | None
) -> list[User]:
    query = select(t.users).order_by(t.users.c.name).limit(limit)
    if tenant_id is not None:
        query = query.where(t.users.c.tenant_id == tenant_id)
    if marker is not None:
        name = conn.execute(select(t.users.c.name).where(t.users.c.id == marker)).scalar()
        query = query.where(t.users.c.name > (name or ""))
    return [_user(r) for r in conn.execute(query).mappings()]


def update_user(conn: Connection, user_id: str, values: dict[str, Any]) -> None:
    conn.execute(update(t.users).where(t.users.c.id == user_id).values(**values))


def insert_token(
    conn: Connection, *, token_id: str, token_hash: str, user_id: str,
    issued_at: datetime, expires_at: datetime,
) -> None:
    conn.execute(
        t.tokens.insert().values(
            id=token_id, token_hash=token_hash, user_id=user_id,
            issued_at=issued_at, expires_at=expires_at, revoked_at=None,
        )
    )


def find_live_token(conn: Connection, token_hash: str, now: datetime) -> RowMapping | None:
    """The token row joined with its user (and its tenant's `tenant_enabled` and `tenant_name`),
    if the token is neither revoked nor expired; `scoped_tenant` is the team it acts in, if
    not the user's own."""
    query = (
        select(t.tokens.c.id.label("token_id"), t.tokens.c.expires_at, t.tokens.c.last_seen_at,
               t.tokens.c.tenant_id.label("scoped_tenant"), t.users,
               t.tenants.c.enabled.label("tenant_enabled"), t.tenants.c.name.label("tenant_name"))
        .join(t.users, t.users.c.id == t.tokens.c.user_id)
        .join(t.tenants, t.tenants.c.id == t.users.c.tenant_id)
        .where(t.tokens.c.token_hash == token_hash)
        .where(t.tokens.c.revoked_at.is_(None))
        .where(t.tokens.c.expires_at > now)
    )
    return conn.execute(query).mappings().first()


def revoke_token(conn: Connection, token_id: str, now: datetime) -> None:
    conn.execute(update(t.tokens).where(t.tokens.c.id == token_id).values(revoked_at=now))


def revoke_user_tokens(conn: Connection, user_id: str, now: datetime) -> None:
    query = update(t.tokens).where(t.tokens.c.user_id == user_id)
    conn.execute(query.where(t.tokens.c.revoked_at.is_(None)).values(revoked_at=now))


def user_from_row(row: RowMapping) -> User:
    return _user(row)


def _fields(value: Tenant | User) -> dict[str, Any]:
    return asdict(value)



def login_failures_since(conn: Connection, key: str, since: datetime) -> list[datetime]:
    """When `key` failed to log in after `since`, earliest first."""
    query = (
        select(t.login_failures.c.failed_at)
        .where(t.login_failures.c.key == key, t.login_failures.c.failed_at > since)
        .order_by(t.login_failures.c.failed_at)
    )
    return list(conn.execute(query).scalars())


def add_login_failure(conn: Connection, key: str, at: datetime, horizon: datetime) -> None:
    """Record a failure, and forget every failure (of any key) older than `horizon`."""
    conn.execute(t.login_failures.delete().where(t.login_failures.c.failed_at <= horizon))
    conn.execute(t.login_failures.insert().values(key=key, failed_at=at))


def clear_login_failures(conn: Connection, key: str) -> None:
    conn.execute(t.login_failures.delete().where(t.login_failures.c.key == key))
