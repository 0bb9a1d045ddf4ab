"""Authentication behind one interface: local argon2 passwords, opaque bearer tokens (each a
session, with where it came from and when it was last used) and API credentials (`swsk_...`
secrets bound to a user and its tenant, acting with the user's role of the moment)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, Unauthorized
from sws.identity import account_repository as account_repo
from sws.identity import repository as repo
from sws.identity import team_tenants
from sws.identity.account_model import Client, is_credential_secret
from sws.identity.model import IssuedToken, Principal, Role, User, cloud_role

BAD_CREDENTIALS = "the user name or password is wrong, or the user or its tenant is disabled"


class AuthBackend(Protocol):
    """What the API needs from any identity source (local now, Keystone later)."""

    def issue_token(self, *, name: str, password: str) -> IssuedToken: ...
    def validate(self, *, secret: str) -> Principal: ...
    def revoke(self, *, principal: Principal) -> None: ...


def hash_secret(secret: str) -> str:
    """Tokens are long random strings, so a fast SHA-256 is the right hash for them."""
    return hashlib.sha256(secret.encode()).hexdigest()


class PasswordHashing:
    """argon2id hashing with the library's current recommended parameters.

    The hasher is made at first use, not at import: the services keep one at module level,
    and the test suite swaps in the same algorithm at its lowest cost before any is used.
    """

    @cached_property
    def _hasher(self) -> PasswordHasher:
        return PasswordHasher()

    def hash(self, password: str) -> str:
        return str(self._hasher.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False


class LocalAuth:
    """Users and argon2 hashes in SWS's own database; tokens stored as SHA-256 hashes."""

    def __init__(
        self, *, db: Database, clock: Clock, ttl: timedelta, operator_tenant: str = "operator"
    ) -> None:
        self._db = db
        self._clock = clock
        self._ttl = ttl
        self._operator_tenant = operator_tenant
        self._passwords = PasswordHashing()
        self._dummy_hash = self._passwords.hash(secrets.token_hex(16))

    def issue_token(self, *, name: str, password: str) -> IssuedToken:
        return self.issue(self.check_password(name, password))

    def issue(self, found: repo.Credentials, client: Client | None = None) -> IssuedToken:
        """A new session token for a user whose password (and second factor) were checked."""
        user = found.user
        secret = secrets.token_urlsafe(32)
        now = self._clock.now()
        token_id = str(uuid.uuid4())
        with self._db.begin() as conn:
            repo.insert_token(
                conn, token_id=token_id, token_hash=hash_secret(secret), user_id=user.id,
                issued_at=now, expires_at=now + self._ttl,
            )
            if client is not None:
                account_repo.describe_session(
                    conn, token_id, address=client.address, agent=client.agent, now=now
                )
        role = cloud_role(user.role, found.tenant_name, self._operator_tenant)
        principal = _principal(user, role, token_id, now + self._ttl)
        return IssuedToken(secret=secret, principal=principal)

    def validate(self, *, secret: str) -> Principal:
        if is_credential_secret(secret):
            return self._credential(secret)
        now = self._clock.now()
        with self._db.read() as conn:
            row = repo.find_live_token(conn, hash_secret(secret), now)
        if row is None or not row["enabled"] or not row["tenant_enabled"]:
            raise Unauthorized("the token is missing, expired or revoked")
        if account_repo.stale(row["last_seen_at"], now):
            with self._db.begin() as conn:
                account_repo.seen(conn, row["token_id"], now)
        user = repo.user_from_row(row)
        role = cloud_role(user.role, row["tenant_name"], self._operator_tenant)
        principal = _principal(user, role, row["token_id"], row["expires_at"])
        return self._in_tenant(principal, row["scoped_tenant"] or user.tenant_id)

    def _credential(self, secret: str) -> Principal:
        """An API credential acts as its user, with the user's role of the moment (so never
        more), and only while user and tenant are enabled and the user is in its tenant (its
        own, or a team it joined)."""
        now = self._clock.now()
        with self._db.read() as conn:
            row = account_repo.find_live_credential(conn, hash_secret(secret), now)
        if row is None or not row["enabled"] or not row["tenant_enabled"]:
            raise Unauthorized("the API credential is unknown, expired or revoked")
        if account_repo.stale(row["last_used_at"], now):
            with self._db.begin() as conn:
                account_repo.credential_used(conn, row["credential_id"], now)
        user = repo.user_from_row(row)
        role = cloud_role(user.role, row["tenant_name"], self._operator_tenant)
        principal = _principal(user, role, row["credential_id"], row["expires_at"])
        return replace(self._in_tenant(principal, row["bound_tenant"]), via="credential")

    def _in_tenant(self, principal: Principal, tenant_id: str) -> Principal:
        """The principal in its own tenant, or in a team it joined (with its role there)."""
        if tenant_id == principal.tenant_id:
            return principal
        with self._db.read() as conn:
            return team_tenants.acting_in(conn, principal, tenant_id, self._operator_tenant)

    def revoke(self, *, principal: Principal) -> None:
        if principal.via == "credential":
            raise Conflict(
                "an API credential is not a session: revoke it at "
                "DELETE /v1/account/credentials/{id}", field="token",
            )
        with self._db.begin() as conn:
            repo.revoke_token(conn, principal.token_id, self._clock.now())

    def enabled_user(self, name: str) -> repo.Credentials:
        """The user by name, if both it and its tenant are enabled."""
        with self._db.read() as conn:
            found = repo.find_credentials(conn, name)
        if found is None or not (found.user.enabled and found.tenant_enabled):
            raise Unauthorized(BAD_CREDENTIALS)
        return found

    def check_password(self, name: str, password: str) -> repo.Credentials:
        """The user's credentials, if the password is right and both user and tenant enabled."""
        with self._db.read() as conn:
            found = repo.find_credentials(conn, name)
        # Verify against a dummy hash for unknown users so timing does not reveal names.
        password_hash = found.password_hash if found else self._dummy_hash
        valid = self._passwords.verify(password_hash, password)
        if found is None or not valid or not (found.user.enabled and found.tenant_enabled):
            raise Unauthorized(BAD_CREDENTIALS)
        return found


def _principal(user: User, role: Role, token_id: str, expires_at: datetime) -> Principal:
    return Principal(
        user_id=user.id, user_name=user.name, tenant_id=user.tenant_id,
        role=role, token_id=token_id, expires_at=expires_at,
    )
