"""Identity values and their rules: tenants, users, roles, tokens and the caller's principal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sws.errors import Invalid
from sws.money import check_currency

Role = Literal["admin", "owner", "member", "billing", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "owner", "member", "billing", "viewer")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    billing_timezone: str
    currency: str
    enabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class User:
    id: str
    tenant_id: str
    name: str
    role: Role
    enabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: resolved from a token on every request."""

    user_id: str
    user_name: str
    tenant_id: str
    role: Role
    token_id: str
    expires_at: datetime
    #: "session" for a login's token; "credential" for an API credential, which cannot
    #: change the account's own security (password, second factor, credentials, e-mail).
    via: Literal["session", "credential"] = "session"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def manages_users(self) -> bool:
        """An owner manages its own tenant's users; the cloud's admin manages everyone's."""
        return self.role in ("owner", "admin")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly issued bearer token; `secret` is shown once and only its hash is stored."""

    secret: str
    principal: Principal


def cloud_role(role: Role, tenant_name: str, operator_tenant: str) -> Role:
    """A user is the cloud's admin only as an admin of the operator tenant; an admin role in
    any other tenant (which a tenant must never be able to grant itself) means member. An
    owner (the user who signed the tenant up) is a member who also manages its users."""
    if role == "admin":
        return "admin" if tenant_name == operator_tenant else "member"
    return role


def check_admin_placement(role: Role, tenant_name: str, operator_tenant: str) -> None:
    if role == "admin" and tenant_name != operator_tenant:
        raise Invalid(
            f"only users of the operator tenant {operator_tenant!r} can be admins", field="role"
        )


def check_name(value: str, *, field: str) -> str:
    if not NAME_PATTERN.match(value):
        raise Invalid(
            f"{field} must be 2-64 characters: letters, digits, '_', '.', '@' or '-'", field=field
        )
    return value


def check_timezone(value: str, *, field: str = "billing_timezone") -> str:
    if value not in _timezones():
        raise Invalid(f"unknown time zone {value!r}", field=field)
    try:
        ZoneInfo(value)
    except ZoneInfoNotFoundError as exc:
        raise Invalid(f"unknown time zone {value!r}", field=field) from exc
    return value


def check_role(value: str) -> Role:
    for role in ROLES:
        if value == role:
            return role
    raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")


def check_password(value: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    return value


def check_tenant_fields(*, name: str, billing_timezone: str, currency: str) -> None:
    check_name(name, field="name")
    check_timezone(billing_timezone)
    check_currency(currency)


_TIMEZONES: set[str] = set()


def _timezones() -> set[str]:
    if not _TIMEZONES:
        _TIMEZONES.update(available_timezones())
    return _TIMEZONES
