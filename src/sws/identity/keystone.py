"""Keystone as SWS's identity source: validate OpenStack tokens, log in with Keystone passwords.

- A caller sends a Keystone token as `X-Auth-Token` or `Authorization: Bearer`. SWS asks
  Keystone (`GET /v3/auth/tokens`, the token validating itself) and caches the answer for
  `keystone_cache_seconds`, in a bounded LRU of `keystone_cache_size` entries keyed by the
  token's SHA-256. After that time the token is checked again, so a token revoked in Keystone
  is refused at most one cache period later; one revoked through SWS is dropped at once.
- The token's project is the SWS tenant (same id), created on first sight; a role listed in
  `keystone_admin_roles` on the operator tenant's project (`operator_tenant`, by SWS tenant
  name) makes the caller an SWS admin; otherwise the project's roles map to an SWS tenant role
  (owner, member, billing, viewer: sws.identity.team_keystone), any unmapped role a member.
  A tenant disabled in SWS refuses its tokens and logins.
- `issue_token` logs in with a user name and password (domain Default) and returns a
  Keystone token scoped to the user's default project, or else its first project.
- When Keystone cannot be reached (or answers 5xx), a token validated before keeps working
  until its own expiry; anything else gets 503 `Unavailable` naming Keystone's URL.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Unauthorized, Unavailable
from sws.identity import repository as repo
from sws.identity.auth import BAD_CREDENTIALS, hash_secret
from sws.identity.model import IssuedToken, Principal, Role, Tenant, cloud_role
from sws.identity.team_keystone import role_from_keystone

REJECTED = "the token is missing, expired or revoked"


class KeystoneUnreachable(Exception):
    """Keystone did not answer, or answered with a server error."""


class TokenRejected(Exception):
    """Keystone answered: this token (or password) is not valid."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What Keystone says about a token."""

    user_id: str
    user_name: str
    project_id: str
    project_name: str
    roles: tuple[str, ...]
    expires_at: datetime


class KeystoneAPI(Protocol):
    """The few Keystone calls SWS makes; `HttpKeystone` speaks HTTP, tests use a fake."""

    url: str

    def validate(self, secret: str) -> TokenInfo: ...
    def password_login(self, name: str, password: str) -> tuple[str, TokenInfo]: ...
    def revoke(self, secret: str) -> None: ...


@dataclass(slots=True)
class _Entry:
    principal: Principal
    secret: str
    checked_at: datetime


class TokenCache:
    """A bounded LRU of validated tokens; an entry is fresh for `ttl`, usable until expiry."""

    def __init__(self, *, ttl: timedelta, size: int) -> None:
        self._ttl = ttl
        self._size = size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, key: str, entry: _Entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def fresh(self, key: str, now: datetime) -> _Entry | None:
        """The entry, if it was checked less than `ttl` ago and the token has not expired."""
        entry = self.usable(key, now)
        if entry is None or now - entry.checked_at >= self._ttl:
            return None
        return entry

    def usable(self, key: str, now: datetime) -> _Entry | None:
        """The entry, if its token has not expired (used while Keystone is unreachable)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.principal.expires_at <= now:
            self.drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)


class KeystoneAuth:
    """The `AuthBackend` over Keystone; tenants are created on first sight of a project."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        keystone: KeystoneAPI,
        cache: TokenCache,
        admin_roles: tuple[str, ...] = ("admin",),
        operator_tenant: str = "operator",
        member_role: str = "member",
    ) -> None:
        self._member_role = member_role
        self._db = db
        self._clock = clock
        self._keystone = keystone
        self._cache = cache
        self._admin_roles = frozenset(admin_roles)
        self._operator_tenant = operator_tenant

    def validate(self, *, secret: str) -> Principal:
        key, now = hash_secret(secret), self._clock.now()
        entry = self._cache.fresh(key, now)
        if entry is not None:
            return entry.principal
        try:
            info = self._keystone.validate(secret)
        except KeystoneUnreachable as exc:
            stale = self._cache.usable(key, now)
            if stale is not None:
                return stale.principal
            raise self._unavailable(exc) from exc
        except TokenRejected as exc:
            self._cache.drop(key)
            raise Unauthorized(REJECTED) from exc
        return self._remember(key, secret, info, now)

    def issue_token(self, *, name: str, password: str) -> IssuedToken:
        try:
            secret, info = self._keystone.password_login(name, password)
        except KeystoneUnreachable as exc:
            raise self._unavailable(exc) from exc
        except TokenRejected as exc:
            raise Unauthorized(BAD_CREDENTIALS) from exc
        principal = self._remember(hash_secret(secret), secret, info, self._clock.now())
        return IssuedToken(secret=secret, principal=principal)

    def revoke(self, *, principal: Principal) -> None:
        entry = self._cache.usable(principal.token_id, self._clock.now())
        self._cache.drop(principal.token_id)
        if entry is None:
            return
        try:
            self._keystone.revoke(entry.secret)
        except TokenRejected:
            return  # already gone in Keystone
        except KeystoneUnreachable as exc:
            raise self._unavailable(exc) from exc

    def _remember(self, key: str, secret: str, info: TokenInfo, now: datetime) -> Principal:
        tenant = self._ensure_tenant(info.project_id, info.project_name)
        principal = Principal(
            user_id=info.user_id, user_name=info.user_name, tenant_id=info.project_id,
            role=self._role(info.roles, tenant), token_id=key, expires_at=info.expires_at,
        )
        self._cache.put(key, _Entry(principal=principal, secret=secret, checked_at=now))
        return principal

    def _role(self, roles: tuple[str, ...], tenant: Tenant) -> Role:
        """Admin only through an admin role on the operator tenant's project; else the SWS
        role the project's Keystone roles map to (sws.identity.team_keystone)."""
        if self._admin_roles.intersection(roles):
            return cloud_role("admin", tenant.name, self._operator_tenant)
        return role_from_keystone(roles, self._member_role)

    def _ensure_tenant(self, project_id: str, project_name: str) -> Tenant:
        """The project's tenant, created on first sight; read each time (once per cache
        period of a token), so that disabling a tenant in SWS locks its tokens out."""
        with self._db.begin() as conn:
            tenant = repo.get_tenant(conn, project_id)
            if tenant is None:
                name = _tenant_name(project_name, project_id)
                if repo.tenant_name_taken(conn, name):
                    name = f"{name[:48]}-{project_id[:8]}"
                tenant = Tenant(
                    id=project_id, name=name, billing_timezone="UTC", currency="CNY",
                    enabled=True, created_at=self._clock.now(),
                )
                repo.insert_tenant(conn, tenant)
        if not tenant.enabled:
            raise Unauthorized(f"tenant {tenant.name} is disabled in SWS")
        return tenant

    def _unavailable(self, exc: Exception) -> Unavailable:
        return Unavailable(
            f"Keystone at {self._keystone.url} is unreachable ({exc}); "
            "a token never seen before cannot be checked now, try again shortly"
        )


def _tenant_name(project_name: str, project_id: str) -> str:
    """A valid SWS tenant name from a Keystone project name (which allows more characters)."""
    name = re.sub(r"[^A-Za-z0-9_.@-]", "-", project_name).strip("-_.@")[:64]
    return name if len(name) >= 2 else f"project-{project_id[:12]}"


# ---- HTTP ---------------------------------------------------------------------------------


class HttpKeystone:
    """Keystone v3 over keystoneauth1; `url` is the v3 endpoint, e.g. http://host:5000/v3."""

    def __init__(self, url: str, *, user_domain: str = "Default", timeout: float = 5.0) -> None:
        from keystoneauth1 import session

        self.url = url.rstrip("/")
        if not self.url.endswith("/v3"):
            self.url += "/v3"
        self._domain = user_domain
        self._session = session.Session(timeout=timeout)

    def validate(self, secret: str) -> TokenInfo:
        headers = {"X-Auth-Token": secret, "X-Subject-Token": secret}
        body = self._call("GET", "/auth/tokens?nocatalog", headers=headers)
        return _token_info(body)

    def password_login(self, name: str, password: str) -> tuple[str, TokenInfo]:
        user = {"name": name, "domain": {"name": self._domain}, "password": password}
        auth = {"identity": {"methods": ["password"], "password": {"user": user}}}
        secret, body = self._issue({"auth": auth})
        if body.get("token", {}).get("project"):
            return secret, _token_info(body)
        projects = self._call("GET", "/auth/projects", headers={"X-Auth-Token": secret})
        found = [p for p in projects.get("projects", []) if p.get("enabled", True)]
        if not found:
            raise TokenRejected(f"user {name} has no project")
        rescope = {"identity": {"methods": ["token"], "token": {"id": secret}},
                   "scope": {"project": {"id": found[0]["id"]}}}
        scoped, body = self._issue({"auth": rescope})
        return scoped, _token_info(body)

    def revoke(self, secret: str) -> None:
        self._call("DELETE", "/auth/tokens", headers={"X-Auth-Token": secret,
                                                        "X-Subject-Token": secret})

    def _issue(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self._request("POST", "/auth/tokens?nocatalog", json=body)
        return str(response.headers.get("X-Subject-Token", "")), dict(response.json())

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._request(method, path, **kwargs)
        return dict(response.json()) if response.content else {}

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        from keystoneauth1 import exceptions

        try:
            response = self._session.request(
                self.url + path, method, authenticated=False, raise_exc=False, **kwargs
            )
        except exceptions.ClientException as exc:  # connect failure, timeout, SSL
            raise KeystoneUnreachable(type(exc).__name__) from exc
        if response.status_code >= 500:
            raise KeystoneUnreachable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise TokenRejected(f"HTTP {response.status_code}")
        return response


def _token_info(body: dict[str, Any]) -> TokenInfo:
    token = body.get("token") or {}
    project = token.get("project")
    if not project:
        raise TokenRejected("the token is not scoped to a project")
    user = token.get("user") or {}
    expires = datetime.fromisoformat(str(token["expires_at"]).replace("Z", "+00:00"))
    return TokenInfo(
        user_id=str(user.get("id", "")), user_name=str(user.get("name", "")),
        project_id=str(project["id"]), project_name=str(project.get("name", "")),
        roles=tuple(str(r.get("name", "")) for r in token.get("roles") or ()),
        expires_at=expires.astimezone(UTC),
    )
