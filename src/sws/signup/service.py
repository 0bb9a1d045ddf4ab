"""Front-door use cases: sign up, confirm, (re)send, approve or deny, reset a password.

Whether an address already has an account is never revealed: a sign-up answers the same,
and costs the same one password hash, whatever happens next; the address's owner gets a
mail ("someone tried to sign up with your address") instead of a second account. Every
mail is enqueued in the transaction of the action it reports (sws.mail.outbox), every
admin decision is audited in it too, and every code is random, stored as SHA-256, single
use and expiring.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from sws.audit import repository as audit_repo
from sws.audit.model import AuditRecord, check_record
from sws.billing import repository as billing_repo
from sws.billing import service as billing
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, Invalid, NotFound
from sws.identity import account_repository as account_repo
from sws.identity import repository as identity_repo
from sws.identity.auth import PasswordHashing
from sws.identity.model import NAME_PATTERN, Principal, Tenant, User, check_name
from sws.mail.model import Mail
from sws.mail.outbox import enqueue
from sws.mail.templates import language_of, render
from sws.signup import repository as repo
from sws.signup.accounts import CloudAccounts, NewAccount
from sws.signup.limits import Limit, Limiter
from sws.signup.model import (
    Email,
    Mode,
    PasswordPolicy,
    Signup,
    SignupClosed,
    TokenRefused,
    check_decidable,
    check_not_disposable,
    check_usable,
    network_of,
    new_token,
    normalise_email,
    token_hash,
)

HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)


#: The front door's limits, each on its own (name: count per window, and what it counts).
LIMITS = {
    "signup-address": (5, HOUR, "sign-ups from your address"),
    "signup-network": (20, HOUR, "sign-ups from your network"),
    "signup-email": (3, HOUR, "sign-ups for this e-mail address"),
    "verify-address": (20, 10 * MINUTE, "confirmation attempts from your address"),
    "reset-address": (5, HOUR, "password resets from your address"),
    "reset-email": (3, HOUR, "password resets for this e-mail address"),
    "reset-confirm-address": (20, 10 * MINUTE, "password-reset attempts from your address"),
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Sign-up per address, per /24 or /64 and per e-mail; confirmation, reset requests
    (per address and e-mail) and reset confirmations per address."""

    signup_address: Limit
    signup_network: Limit
    signup_email: Limit
    verify_address: Limit
    reset_address: Limit
    reset_email: Limit
    reset_confirm_address: Limit

    @classmethod
    def with_counts(cls, counts: Mapping[str, int] | None = None) -> Limits:
        """The default limits, with the counts an operator chose by name."""
        chosen = counts or {}
        unknown = sorted(set(chosen) - set(LIMITS))
        if unknown:
            raise Invalid(f"no front-door limit {unknown[0]!r}", field="signup_limits")
        if any(count < 1 for count in chosen.values()):
            raise Invalid("a front-door limit counts at least 1", field="signup_limits")
        made = {
            name.replace("-", "_"): Limit(name, chosen.get(name, count), window, what)
            for name, (count, window, what) in LIMITS.items()
        }
        return cls(**made)


@dataclass(frozen=True, slots=True)
class FrontDoorConfig:
    mode: Mode = "closed"
    verify_ttl: timedelta = timedelta(hours=24)
    reset_ttl: timedelta = timedelta(minutes=30)
    public_url: str = "http://127.0.0.1:8000"
    passwords: PasswordPolicy = field(default_factory=PasswordPolicy)
    blocked_domains: frozenset[str] = frozenset()
    limits: Limits = field(default_factory=Limits.with_counts)


@dataclass(frozen=True, slots=True)
class SignupRequest:
    email: str
    password: str
    tenant_name: str
    language: str = "en"
    address: str = "unknown"  # the client's IP address


@dataclass(frozen=True, slots=True)
class Verified:
    """What a confirmed sign-up became: `active` (tenant open) or `pending` (approval)."""

    state: str
    tenant_id: str | None = None
    user_name: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """An admin's approve or deny, with who, from where, and through what (api, console)."""

    signup_id: str
    actor: Principal
    source: str = "api"
    address: str | None = None


class FrontDoor:
    """The sign-up and reset use cases, wired once by the composition root."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        config: FrontDoorConfig,
        limiter: Limiter,
        accounts: CloudAccounts,
    ) -> None:
        self.db, self.clock, self.config = db, clock, config
        self.limiter, self.accounts = limiter, accounts
        self._hasher = PasswordHashing()

    # ---- sign-up ------------------------------------------------------------------------

    def sign_up(self, request: SignupRequest) -> None:
        """Accept a sign-up; the answer is the same whether or not the address has an account."""
        limits = self.config.limits
        self.limiter.hit(limits.signup_address, request.address)
        self.limiter.hit(limits.signup_network, network_of(request.address))
        self._check_open()
        email = normalise_email(request.email)
        check_not_disposable(email, self.config.blocked_domains)
        self.limiter.hit(limits.signup_email, email.key, field="email")
        check_name(request.tenant_name, field="tenant_name")
        self.config.passwords.check(request.password, email)
        password_hash = self._hasher.hash(request.password)  # on every path: same timing
        now = self.clock.now()
        with self.db.begin() as conn:
            self._check_name_free(conn, request.tenant_name, email.key, now)
            found = repo.find_by_key(conn, email.key)
            if found is None:
                self._first(conn, request, email, password_hash, now)
            else:
                self._again(conn, found, request, email, password_hash, now)

    def _check_open(self) -> None:
        if self.config.mode == "closed":
            raise SignupClosed("sign-up is closed on this cloud: ask its operator for an account")

    def _check_name_free(self, conn: Connection, name: str, key: str, now: datetime) -> None:
        if identity_repo.tenant_name_taken(conn, name) or repo.name_reserved(
            conn, name, email_key=key, now=now
        ):
            raise Conflict(
                f"the tenant name {name!r} is taken; choose another", field="tenant_name"
            )

    def _first(
        self,
        conn: Connection,
        request: SignupRequest,
        email: Email,
        password_hash: str,
        now: datetime,
    ) -> None:
        secret, hashed = new_token()
        signup_id = uuid.uuid4().hex
        values = {
            "id": signup_id,
            "email": email.address,
            "email_key": email.key,
            "tenant_name": request.tenant_name,
            "language": language_of(request.language),
            "password_hash": password_hash,
            "state": "unverified",
            "token_hash": hashed,
            "token_expires_at": now + self.config.verify_ttl,
            "sends": 1,
            "address": request.address[:64],
            "created_at": now,
            "updated_at": now,
        }
        if repo.insert_signup(conn, values):  # else the same person's other request won
            self._verification_mail(conn, self._signup(conn, signup_id), 1, secret, now)

    def _again(
        self,
        conn: Connection,
        found: tuple[Signup, int],
        request: SignupRequest,
        email: Email,
        password_hash: str,
        now: datetime,
    ) -> None:
        """A second sign-up of one person: a new code while unconfirmed, a warning to the
        owner of an open account, nothing while a decision is pending or after a denial."""
        signup, sends = found
        if signup.state == "active":
            mail = self._mail(
                "signup_exists",
                _language(conn, signup),
                signup.email,
                email=signup.email,
                link=self._link("/console/password-reset"),
            )
            enqueue(conn, key=f"signup-exists:{signup.id}:{uuid.uuid4().hex}", mail=mail, now=now)
        if signup.state != "unverified":
            return
        changes: dict[str, object] = {
            "email": email.address,
            "tenant_name": request.tenant_name,
            "language": language_of(request.language),
            "password_hash": password_hash,
            "address": request.address[:64],
        }
        self._new_code(conn, signup.id, sends, now, changes)

    def resend(self, *, email: str, address: str = "unknown") -> None:
        """A fresh confirmation link for an unconfirmed sign-up (the one before stops
        working); the same answer, and nothing sent, for any other address."""
        limits = self.config.limits
        self.limiter.hit(limits.signup_address, address)
        normalised = normalise_email(email)
        self.limiter.hit(limits.signup_email, normalised.key, field="email")
        now = self.clock.now()
        with self.db.begin() as conn:
            found = repo.find_by_key(conn, normalised.key)
            if found is not None and found[0].state == "unverified":
                self._new_code(conn, found[0].id, found[1], now, {})

    def _new_code(
        self,
        conn: Connection,
        signup_id: str,
        sends: int,
        now: datetime,
        changes: dict[str, object],
    ) -> None:
        """Replace the sign-up's code (with `changes`) and mail the new one."""
        secret, hashed = new_token()
        expires = now + self.config.verify_ttl
        repo.update_signup(
            conn,
            signup_id,
            {
                **changes,
                "token_hash": hashed,
                "token_expires_at": expires,
                "sends": sends + 1,
                "updated_at": now,
            },
        )
        self._verification_mail(conn, self._signup(conn, signup_id), sends + 1, secret, now)

    def _signup(self, conn: Connection, signup_id: str) -> Signup:
        found = repo.get(conn, signup_id)
        assert found is not None, signup_id
        return found[0]

    def _verification_mail(
        self, conn: Connection, signup: Signup, number: int, secret: str, now: datetime
    ) -> None:
        """Mail the confirmation link to `signup`'s address, as its `number`th code."""
        hours = int(self.config.verify_ttl.total_seconds() // 3600) or 1
        mail = self._mail(
            "signup_verify",
            signup.language,
            signup.email,
            tenant=signup.tenant_name,
            token=secret,
            hours=str(hours),
            link=self._link(f"/console/signup/verify?token={secret}"),
        )
        enqueue(conn, key=f"signup-verify:{signup.id}:{number}", mail=mail, now=now)

    # ---- confirmation and decisions ----------------------------------------------------

    def verify(self, *, token: str, address: str = "unknown") -> Verified:
        """Use a confirmation code once: open the tenant, or queue it for the operator."""
        self.limiter.hit(self.config.limits.verify_address, address)
        now = self.clock.now()
        with self.db.begin() as conn:
            found = repo.find_by_token(conn, token_hash(token))
            if found is None:
                raise TokenRefused("this confirmation code is not valid", status=400)
            signup, password_hash = found
            check_usable(signup, now)
            self._check_open()
            if self.config.mode == "approval":
                repo.update_signup(conn, signup.id, {"state": "pending", "updated_at": now})
                self._notice(conn, signup, "signup_pending", now)
                return Verified(state="pending")
            return self._activate(conn, signup, password_hash, now)

    def pending(self) -> list[Signup]:
        with self.db.read() as conn:
            return repo.pending(conn)

    def approve(self, decision: Decision) -> Verified:
        now = self.clock.now()
        with self.db.begin() as conn:
            signup, password_hash = self._decidable(conn, decision.signup_id)
            outcome = self._activate(conn, signup, password_hash, now)
            self._audit(conn, decision, "signup.approve", signup, now)
            self._notice(conn, signup, "signup_approved", now)
        return outcome

    def deny(self, decision: Decision) -> None:
        now = self.clock.now()
        with self.db.begin() as conn:
            signup, _ = self._decidable(conn, decision.signup_id)
            repo.update_signup(
                conn, signup.id, {"state": "denied", "password_hash": "", "updated_at": now}
            )
            self._audit(conn, decision, "signup.deny", signup, now)
            self._notice(conn, signup, "signup_denied", now)

    def _decidable(self, conn: Connection, signup_id: str) -> tuple[Signup, str]:
        found = repo.get(conn, signup_id)
        if found is None:
            raise NotFound(f"sign-up {signup_id} not found")
        check_decidable(found[0])
        return found

    def _activate(
        self, conn: Connection, signup: Signup, password_hash: str, now: datetime
    ) -> Verified:
        """The tenant, its billing account, its cloud account and its owner, at once."""
        if identity_repo.tenant_name_taken(conn, signup.tenant_name):
            raise Conflict(
                f"the tenant name {signup.tenant_name!r} was taken meanwhile; "
                "sign up again with another",
                field="tenant_name",
            )
        user_name = _owner_name(conn, signup)
        keeps = self.accounts.keeps_passwords
        tenant_id = self.accounts.open(
            NewAccount(
                tenant_name=signup.tenant_name,
                user_name=user_name,
                email=signup.email,
                password=secrets.token_urlsafe(24),
            )
        )
        defaults = billing.policy_from(billing_repo.settings(conn)).defaults
        tenant = Tenant(
            id=tenant_id,
            name=signup.tenant_name,
            enabled=True,
            created_at=now,
            billing_timezone=defaults.timezone,
            currency=defaults.currency,
        )
        identity_repo.insert_tenant(conn, tenant)
        user = User(
            id=uuid.uuid4().hex,
            tenant_id=tenant_id,
            name=user_name,
            role="owner",
            enabled=True,
            created_at=now,
        )
        identity_repo.insert_user(
            conn, user, password_hash if keeps else "", email=signup.email.lower()
        )
        policy = billing.policy_from(billing_repo.settings(conn))
        billing_repo.insert_accounts(
            conn, billing.new_account_rows(conn, [tenant_id], policy=policy, now=now)
        )
        repo.update_signup(
            conn,
            signup.id,
            {"state": "active", "tenant_id": tenant_id, "user_id": user.id, "updated_at": now},
        )
        if not keeps:
            self._password_link(conn, user, signup, "account_ready", now)
        return Verified(state="active", tenant_id=tenant_id, user_name=user_name)

    def _audit(
        self, conn: Connection, decision: Decision, action: str, signup: Signup, now: datetime
    ) -> None:
        record = AuditRecord(
            actor_user_id=decision.actor.user_id,
            actor_name=decision.actor.user_name,
            action=action,
            target_type="signup",
            target_id=signup.id,
            detail=f"email={signup.email} tenant={signup.tenant_name}",
            source=decision.source,
            remote_addr=decision.address,
        )
        audit_repo.insert_entry(conn, check_record(record), now)

    def _notice(self, conn: Connection, signup: Signup, template: str, now: datetime) -> None:
        mail = self._mail(
            template,
            signup.language,
            signup.email,
            tenant=signup.tenant_name,
            link=self._link("/console/login"),
        )
        enqueue(conn, key=f"{template}:{signup.id}", mail=mail, now=now)

    # ---- password reset ----------------------------------------------------------------

    def request_reset(self, *, email: str, address: str = "unknown") -> None:
        """Mail a reset link if the address belongs to a user; answer the same if not."""
        limits = self.config.limits
        self.limiter.hit(limits.reset_address, address)
        normalised = normalise_email(email)
        self.limiter.hit(limits.reset_email, normalised.key, field="email")
        now = self.clock.now()
        with self.db.begin() as conn:
            found = repo.find_by_key(conn, normalised.key)
            signup = found[0] if found and found[0].state == "active" else None
            user = identity_repo.find_user_by_email(conn, signup.email) if signup else None
            if signup is None or user is None or not user.enabled:
                return
            self._password_link(conn, user, signup, "password_reset", now)

    def _password_link(
        self, conn: Connection, user: User, signup: Signup, template: str, now: datetime
    ) -> None:
        secret, hashed = new_token()
        repo.insert_reset(
            conn,
            user_id=user.id,
            token_hash=hashed,
            now=now,
            expires_at=now + self.config.reset_ttl,
        )
        minutes = int(self.config.reset_ttl.total_seconds() // 60) or 1
        mail = self._mail(
            template,
            account_repo.mail_language(conn, user.id),
            signup.email,
            user=user.name,
            token=secret,
            minutes=str(minutes),
            tenant=signup.tenant_name,
            link=self._link(f"/console/password-reset/confirm?token={secret}"),
        )
        enqueue(conn, key=f"{template}:{hashed}", mail=mail, now=now)

    def confirm_reset(self, *, token: str, password: str, address: str = "unknown") -> User:
        """Use a reset code once: set the password and end every session of the user."""
        self.limiter.hit(self.config.limits.reset_confirm_address, address)
        now = self.clock.now()
        with self.db.begin() as conn:
            row = repo.find_reset(conn, token_hash(token))
            if row is None:
                raise TokenRefused("this password-reset code is not valid", status=400)
            if row["used_at"] is not None:
                raise TokenRefused("this password-reset link was used already", status=409)
            if row["expires_at"] <= now:
                raise TokenRefused(
                    "this password-reset link has expired: ask for a new one", status=410
                )
            user = identity_repo.get_user(conn, row["user_id"])
            if user is None or not user.enabled:
                raise TokenRefused("this password-reset code is not valid", status=400)
            self._set_password(conn, user, password, now)
            if not repo.use_reset(conn, row["id"], now):
                raise TokenRefused("this password-reset link was used already", status=409)
        return user

    def _set_password(self, conn: Connection, user: User, password: str, now: datetime) -> None:
        email = identity_repo.user_email(conn, user.id)
        self.config.passwords.check(password, normalise_email(email) if email else None)
        identity_repo.update_user(conn, user.id, {"password_hash": self._hasher.hash(password)})
        identity_repo.revoke_user_tokens(conn, user.id, now)
        self.accounts.set_password(user_name=user.name, password=password)

    # ---- helpers ------------------------------------------------------------------------

    def _link(self, path: str) -> str:
        return self.config.public_url.rstrip("/") + path

    def _mail(self, template: str, language: str, to: str, **context: str) -> Mail:
        subject, text, html = render(template, language, context)
        return Mail(to=to, subject=subject, text=text, html=html)


def _language(conn: Connection, signup: Signup) -> str:
    """The language of mails to the person behind an open account: its own setting."""
    user = identity_repo.find_user_by_email(conn, signup.email)
    return account_repo.mail_language(conn, user.id) if user else signup.language


def _owner_name(conn: Connection, signup: Signup) -> str:
    """The owner's user name: the e-mail address when it is a valid, free name; else
    `<tenant>-owner`, with a number if that is taken."""
    candidates = [signup.email.lower(), f"{signup.tenant_name[:58]}-owner"]
    for name in candidates:
        if NAME_PATTERN.match(name) and not identity_repo.user_name_taken(conn, name):
            return name
    return f"{signup.tenant_name[:50]}-{uuid.uuid4().hex[:8]}"
