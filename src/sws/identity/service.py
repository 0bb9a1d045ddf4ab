"""Identity use cases: log in, create and manage tenants and users, recover an admin, regions.

The cloud always keeps an admin: the operator tenant (`operator_tenant`, by name) cannot be
disabled, nor its last enabled admin user; `recover_admin` (`sws admin recover`) gives back
an admin to an operator who lost every password."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

from sqlalchemy import Connection

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, NotFound, Unauthorized
from sws.identity import repository as repo
from sws.identity import team_repository as team_repo
from sws.identity import two_factor
from sws.identity.account_model import LoginAttempt
from sws.identity.auth import AuthBackend, LocalAuth, PasswordHashing
from sws.identity.model import (
    IssuedToken,
    Region,
    Tenant,
    User,
    check_admin_placement,
    check_name,
    check_password,
    check_role,
    check_tenant_fields,
)
from sws.identity.throttle import LoginThrottle
from sws.identity.two_factor import Gate

_passwords = PasswordHashing()
OPERATOR_TENANT = "operator"


def log_in(
    *, auth: AuthBackend, throttle: LoginThrottle, attempt: LoginAttempt, db: Database,
    clock: Clock,
) -> IssuedToken:
    """A token for `attempt.name`, unless this (name, address) failed too often lately (429).
    A local user with two-factor authentication also needs `attempt.code` (else
    `SecondFactorRequired`, not counted as a failure); Keystone does its own MFA."""
    name, address = attempt.name, attempt.client.address
    throttle.check(name, address)
    try:
        issued = _authenticate(auth, attempt, Gate(db=db, clock=clock, throttle=throttle))
    except Unauthorized:
        throttle.failed(name, address)
        raise
    throttle.succeeded(name, address)
    return issued


def finish_login(
    *, auth: AuthBackend, throttle: LoginThrottle, attempt: LoginAttempt, db: Database,
    clock: Clock,
) -> IssuedToken:
    """The second step of a login whose password was checked moments ago (the console's
    signed ticket says so): only `attempt.code` is checked, throttled as logins are."""
    name, address = attempt.name, attempt.client.address
    throttle.check(name, address)
    if not isinstance(auth, LocalAuth):
        raise Unauthorized("this cloud's identity provider has no second step")
    try:
        found = auth.enabled_user(name)
        gate = Gate(db=db, clock=clock, throttle=throttle)
        two_factor.check_login(
            gate=gate, user_id=found.user.id, code=attempt.code, required=True
        )
    except Unauthorized:
        throttle.failed(name, address)
        raise
    throttle.succeeded(name, address)
    return auth.issue(found, attempt.client)


def _authenticate(auth: AuthBackend, attempt: LoginAttempt, gate: Gate) -> IssuedToken:
    if not isinstance(auth, LocalAuth):
        return auth.issue_token(name=attempt.name, password=attempt.password)
    found = auth.check_password(attempt.name, attempt.password)
    two_factor.check_login(gate=gate, user_id=found.user.id, code=attempt.code)
    return auth.issue(found, attempt.client)


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


def update_tenant(
    *, db: Database, tenant_id: str, changes: TenantChanges,
    operator_tenant: str = OPERATOR_TENANT,
) -> Tenant:
    current = get_tenant(db=db, tenant_id=tenant_id)
    if changes.enabled is False and current.name == operator_tenant:
        raise Conflict(
            f"the operator tenant {operator_tenant!r} cannot be disabled: its admins run the "
            "cloud", field="enabled",
        )
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
    *, db: Database, clock: Clock, tenant_id: str, name: str, password: str, role: str = "member",
    operator_tenant: str = OPERATOR_TENANT,
) -> User:
    """A new user; only the operator tenant's users may have the admin role."""
    check_name(name, field="name")
    check_password(password)
    user = User(
        id=uuid.uuid4().hex, tenant_id=tenant_id, name=name, role=check_role(role),
        enabled=True, created_at=clock.now(),
    )
    password_hash = _passwords.hash(password)
    with db.begin() as conn:
        tenant = repo.get_tenant(conn, tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id} not found", field="tenant_id")
        check_admin_placement(user.role, tenant.name, operator_tenant)
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
    """The users of a tenant (or of every tenant), by name; a tenant's include those who
    joined it from their own tenant, with their role in it."""
    with db.read() as conn:
        own = repo.list_users(conn, tenant_id, limit, marker)
        if tenant_id is None:
            return own
        after = repo.get_user(conn, marker) if marker is not None else None
        joined = [u for u in team_repo.joined_members(conn, tenant_id)
                  if after is None or u.name > after.name]
    return sorted(own + joined, key=lambda u: u.name)[:limit]


def set_user_enabled(
    *, db: Database, clock: Clock, user_id: str, enabled: bool,
    operator_tenant: str = OPERATOR_TENANT,
) -> User:
    user = get_user(db=db, user_id=user_id)
    with db.begin() as conn:
        if not enabled:
            _keep_an_admin(conn, user, operator_tenant)
        repo.update_user(conn, user_id, {"enabled": enabled})
        if not enabled:
            repo.revoke_user_tokens(conn, user_id, clock.now())
    return get_user(db=db, user_id=user_id)


def _keep_an_admin(conn: Connection, user: User, operator_tenant: str) -> None:
    """Refuse to disable the operator tenant's last enabled admin (the rows stay locked)."""
    operator = repo.find_tenant_by_name(conn, operator_tenant)
    if operator is None or user.tenant_id != operator.id:
        return
    admins = repo.lock_enabled_admins(conn, operator.id)
    if admins == [user.id]:
        raise Conflict(
            f"{user.name} is the last enabled admin of the cloud; enable or create another "
            "admin first (or use `sws admin recover`)", field="enabled",
        )


def recover_admin(
    *, db: Database, clock: Clock, name: str, password: str,
    operator_tenant: str = OPERATOR_TENANT,
) -> User:
    """Make `name` an enabled admin of the operator tenant with this password, creating the
    tenant or the user as needed and enabling both; the user's old tokens are revoked."""
    check_name(name, field="name")
    check_password(password)
    with db.begin() as conn:
        operator = _enabled_operator(conn, clock, operator_tenant)
        found = repo.find_user_by_name(conn, name)
        if found is not None and found.tenant_id != operator.id:
            raise Conflict(
                f"user {name!r} belongs to another tenant; choose another name", field="name"
            )
        user_id = found.id if found else _insert_admin(conn, clock, operator.id, name)
        values = {"role": "admin", "enabled": True, "password_hash": _passwords.hash(password)}
        repo.update_user(conn, user_id, values)
        repo.revoke_user_tokens(conn, user_id, clock.now())
    return get_user(db=db, user_id=user_id)


def _enabled_operator(conn: Connection, clock: Clock, operator_tenant: str) -> Tenant:
    operator = repo.find_tenant_by_name(conn, operator_tenant)
    if operator is None:
        check_tenant_fields(name=operator_tenant, billing_timezone="UTC", currency="CNY")
        operator = Tenant(
            id=uuid.uuid4().hex, name=operator_tenant, billing_timezone="UTC", currency="CNY",
            enabled=True, created_at=clock.now(),
        )
        repo.insert_tenant(conn, operator)
    repo.update_tenant(conn, operator.id, {"enabled": True})
    return operator


def _insert_admin(conn: Connection, clock: Clock, tenant_id: str, name: str) -> str:
    user = User(
        id=uuid.uuid4().hex, tenant_id=tenant_id, name=name, role="admin", enabled=True,
        created_at=clock.now(),
    )
    repo.insert_user(conn, user, password_hash="")
    return user.id


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
