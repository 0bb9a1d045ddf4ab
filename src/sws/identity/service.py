"""Identity use cases: create and manage tenants and users, list regions."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, NotFound
from sws.identity import repository as repo
from sws.identity.auth import PasswordHashing
from sws.identity.model import (
    Region,
    Tenant,
    User,
    check_name,
    check_password,
    check_role,
    check_tenant_fields,
)

_passwords = PasswordHashing()


@dataclass(frozen=True, slots=True)
class TenantChanges:
    billing_timezone: str | None = None
    currency: str | None = None
    enabled: bool | None = None


def create_tenant(
    *, db: Database, clock: Clock, name: str, billing_timezone: str = "UTC", currency: str = "CNY"
) -> Tenant:
    check_tenant_fields(name=name, billing_timezone=billing_timezone, currency=currency)
    tenant = Tenant(
        id=uuid.uuid4().hex, name=name, billing_timezone=billing_timezone,
        currency=currency, enabled=True, created_at=clock.now(),
    )
    with db.begin() as conn:
        if repo.tenant_name_taken(conn, name):
            raise Conflict(f"a tenant named {name!r} exists already", field="name")
        repo.insert_tenant(conn, tenant)
    return tenant


def get_tenant(*, db: Database, tenant_id: str) -> Tenant:
    with db.read() as conn:
        tenant = repo.get_tenant(conn, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} not found")
    return tenant


def list_tenants(*, db: Database, limit: int, marker: str | None) -> list[Tenant]:
    with db.read() as conn:
        return repo.list_tenants(conn, limit, marker)


def update_tenant(*, db: Database, tenant_id: str, changes: TenantChanges) -> Tenant:
    current = get_tenant(db=db, tenant_id=tenant_id)
    values = {k: v for k, v in asdict(changes).items() if v is not None}
    check_tenant_fields(
        name=current.name,
        billing_timezone=changes.billing_timezone or current.billing_timezone,
        currency=changes.currency or current.currency,
    )
    with db.begin() as conn:
        repo.update_tenant(conn, tenant_id, values)
    return get_tenant(db=db, tenant_id=tenant_id)


def create_user(
    *, db: Database, clock: Clock, tenant_id: str, name: str, password: str, role: str = "member"
) -> User:
    check_name(name, field="name")
    check_password(password)
    user = User(
        id=uuid.uuid4().hex, tenant_id=tenant_id, name=name, role=check_role(role),
        enabled=True, created_at=clock.now(),
    )
    password_hash = _passwords.hash(password)
    with db.begin() as conn:
        if repo.get_tenant(conn, tenant_id) is None:
            raise NotFound(f"tenant {tenant_id} not found", field="tenant_id")
        if repo.user_name_taken(conn, name):
            raise Conflict(f"a user named {name!r} exists already", field="name")
        repo.insert_user(conn, user, password_hash)
    return user


def get_user(*, db: Database, user_id: str, tenant_id: str | None = None) -> User:
    """The user; with `tenant_id`, one of another tenant is as missing as a missing one."""
    with db.read() as conn:
        user = repo.get_user(conn, user_id)
    if user is None or (tenant_id is not None and user.tenant_id != tenant_id):
        raise NotFound(f"user {user_id} not found")
    return user


def list_users(
    *, db: Database, tenant_id: str | None, limit: int, marker: str | None
) -> list[User]:
    with db.read() as conn:
        return repo.list_users(conn, tenant_id, limit, marker)


def set_user_enabled(*, db: Database, clock: Clock, user_id: str, enabled: bool) -> User:
    get_user(db=db, user_id=user_id)
    with db.begin() as conn:
        repo.update_user(conn, user_id, {"enabled": enabled})
        if not enabled:
            repo.revoke_user_tokens(conn, user_id, clock.now())
    return get_user(db=db, user_id=user_id)


def reset_password(*, db: Database, clock: Clock, user_id: str, password: str) -> User:
    check_password(password)
    get_user(db=db, user_id=user_id)
    password_hash = _passwords.hash(password)
    with db.begin() as conn:
        repo.update_user(conn, user_id, {"password_hash": password_hash})
        repo.revoke_user_tokens(conn, user_id, clock.now())
    return get_user(db=db, user_id=user_id)


def ensure_regions(*, db: Database, names: list[str]) -> None:
    with db.begin() as conn:
        for name in names:
            repo.ensure_region(conn, name, f"SWS region {name}")


def list_regions(*, db: Database) -> list[Region]:
    with db.read() as conn:
        return repo.list_regions(conn)


def tenant_ids(*, db: Database) -> list[str]:
    """Every tenant's id (its project in OpenStack), in id order."""
    with db.read() as conn:
        return repo.tenant_ids(conn)


def has_tenants(*, db: Database) -> bool:
    with db.read() as conn:
        return repo.count_tenants(conn) > 0
