"""A user's own account as pure values and rules: settings, sessions, API credentials,
TOTP codes and recovery codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp

from sws.errors import Forbidden, Invalid
from sws.identity.model import Principal, check_name, check_timezone

LANGUAGES = ("en", "zh")
CREDENTIAL_PREFIX = "swsk_"  # tells an API credential from a session token at a glance
CREDENTIAL_DAYS = (1, 365)
RECOVERY_CODES = 10
TOTP_ISSUER = "SWS"
TOTP_STEP = 30  # seconds, as every authenticator app expects
_TOTP = re.compile(r"^[0-9]{6}$")
_RECOVERY = re.compile(r"^[a-z2-7]{16}$")


@dataclass(frozen=True, slots=True)
class Client:
    """Where a login comes from, as the sessions list shows it."""

    address: str = "unknown"
    agent: str = ""


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """A name and password, and the second-factor `code` (TOTP or recovery) if enrolled."""

    name: str
    password: str
    client: Client = Client()
    code: str | None = None


@dataclass(frozen=True, slots=True)
class AccountSettings:
    user_id: str
    name: str
    email: str | None
    language: str
    timezone: str
    two_factor: bool
    #: Whether the user (or its sign-up) chose the language and time zone, rather than the
    #: defaults: only chosen ones override what a browser asks for.
    language_chosen: bool = False
    timezone_chosen: bool = False


@dataclass(frozen=True, slots=True)
class SettingsChange:
    language: str | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    issued_at: datetime
    expires_at: datetime
    last_seen_at: datetime | None
    address: str | None
    agent: str | None
    current: bool


@dataclass(frozen=True, slots=True)
class CredentialSpec:
    name: str
    days: int = 90


@dataclass(frozen=True, slots=True)
class Credential:
    id: str
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """A new credential; `secret` is shown once and only its SHA-256 is stored."""

    secret: str
    credential: Credential


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A TOTP secret to put in an authenticator app, as text and as an otpauth:// URI."""

    secret: str
    uri: str


@dataclass(frozen=True, slots=True)
class TwoFactorStatus:
    enabled: bool
    pending: bool  # enrolled, waiting for its first code
    recovery_codes_left: int


def check_language(value: str) -> str:
    if value not in LANGUAGES:
        raise Invalid(f"language must be one of {', '.join(LANGUAGES)}", field="language")
    return value


def check_settings(change: SettingsChange) -> SettingsChange:
    if change.language is not None:
        check_language(change.language)
    if change.timezone is not None:
        check_timezone(change.timezone, field="timezone")
    return change


def check_credential_spec(spec: CredentialSpec) -> CredentialSpec:
    check_name(spec.name, field="name")
    low, high = CREDENTIAL_DAYS
    if not low <= spec.days <= high:
        raise Invalid(f"a credential lasts {low} to {high} days", field="expires_in_days")
    return spec


def credential_lifetime(spec: CredentialSpec) -> timedelta:
    return timedelta(days=spec.days)


def new_credential_secret() -> str:
    return CREDENTIAL_PREFIX + secrets.token_urlsafe(32)


def is_credential_secret(secret: str) -> bool:
    return secret.startswith(CREDENTIAL_PREFIX)


def require_session(caller: Principal) -> None:
    """The account's own security changes only from a login, never from an API credential."""
    if caller.via != "session":
        raise Forbidden("an API credential cannot change the account's security: log in")


# ---- TOTP (RFC 6238) and recovery codes ------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, base32


def totp_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=TOTP_ISSUER)


def time_step(moment: datetime) -> int:
    return int(moment.timestamp()) // TOTP_STEP


def totp_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).at(step * TOTP_STEP)


def matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step (now, or one either side for clock drift) whose code is `code`, if it
    is later than `after` (the last step accepted: a code is never accepted twice)."""
    if not looks_like_totp(code):
        return None
    current = time_step(now)
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp_at(secret, step), code):
            return step
    return None


def looks_like_totp(code: str) -> bool:
    return bool(_TOTP.match(code.strip()))


def new_recovery_codes() -> list[str]:
    """Ten codes of 80 random bits, written `abcd-efgh-ijkl-mnop` (base32, lower case)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_bytes(10)
        text = _base32(raw)
        codes.append("-".join(text[i:i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_hash(code: str) -> str | None:
    """The stored SHA-256 of a recovery code as typed (case, spaces and dashes ignored), or
    None when it cannot be one."""
    normal = re.sub(r"[\s-]", "", code).lower()
    if not _RECOVERY.match(normal):
        return None
    return hashlib.sha256(normal.encode()).hexdigest()


def _base32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").lower()
