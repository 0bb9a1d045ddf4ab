"""Sign-up values and rules: e-mail normalisation, password policy, tokens, client networks."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Literal

from sws.errors import Conflict, Invalid, SWSError

Mode = Literal["open", "approval", "closed"]
State = Literal["unverified", "pending", "active", "denied"]
MAX_EMAIL = 254
MAX_PASSWORD = 1024
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
#: Providers that deliver `a.n.n+tag@` to `ann@`: their dots and tags do not make a new person.
DOTS_IGNORED = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
TAGS_IGNORED = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "icloud.com",
        "me.com",
        "fastmail.com",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "qq.com",
        "foxmail.com",
    }
)


class TokenRefused(SWSError):
    """A sign-up or reset code that is unknown (400), used (409) or expired (410)."""

    def __init__(self, detail: str, *, status: int) -> None:
        super().__init__(detail, field="token")
        self.status = status
        self.title = {409: "Conflict", 410: "Gone"}.get(status, "Bad request")


class SignupClosed(SWSError):
    status = 403
    title = "Forbidden"


@dataclass(frozen=True, slots=True)
class Email:
    """An address as its owner gave it (domain lower-cased) and the key one person maps to."""

    address: str
    key: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


def normalise_email(raw: str) -> Email:
    """Check an address and give its key: lower case; for providers that ignore them, no
    `+tag` and (Gmail) no dots; googlemail.com is gmail.com."""
    address = raw.strip()
    local, at, domain = address.rpartition("@")
    domain = domain.lower().rstrip(".")
    labels = domain.split(".")
    if (
        not at
        or len(address) > MAX_EMAIL
        or not _LOCAL.match(local)
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
    ):
        raise Invalid("this is not an e-mail address SWS can send to", field="email")
    key_local = local.lower()
    if domain in TAGS_IGNORED:
        key_local = key_local.split("+", 1)[0]
    if domain in DOTS_IGNORED:
        key_local, domain_key = key_local.replace(".", ""), DOTS_IGNORED[domain]
    else:
        domain_key = domain
    if not key_local:
        raise Invalid("this is not an e-mail address SWS can send to", field="email")
    return Email(address=f"{local}@{domain}", key=f"{key_local}@{domain_key}")


def check_not_disposable(email: Email, blocked: frozenset[str]) -> None:
    """Refuse a disposable domain, or any subdomain of one."""
    labels = email.domain.split(".")
    if any(".".join(labels[i:]) in blocked for i in range(len(labels) - 1)):
        raise Invalid("addresses of disposable mail services cannot sign up", field="email")


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    min_length: int = 10
    common: frozenset[str] = frozenset()

    def check(self, password: str, email: Email | None = None) -> str:
        if len(password) < self.min_length:
            raise Invalid(
                f"the password needs at least {self.min_length} characters", field="password"
            )
        if len(password) > MAX_PASSWORD:
            raise Invalid(f"the password has at most {MAX_PASSWORD} characters", field="password")
        lowered = password.lower()
        if lowered in self.common or (email and lowered in email.address.lower()):
            raise Invalid(
                "this password is too common or too close to the e-mail address; choose another",
                field="password",
            )
        return password


def network_of(address: str) -> str:
    """The client's /24 (IPv4) or /64 (IPv6): one sign-up velocity limit per network."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def new_token() -> tuple[str, str]:
    """A random code for a link (shown once) and the SHA-256 that is stored."""
    secret = secrets.token_urlsafe(32)
    return secret, token_hash(secret)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Signup:
    id: str
    email: str
    email_key: str
    tenant_name: str
    language: str
    state: State
    created_at: datetime
    token_expires_at: datetime | None
    address: str | None
    tenant_id: str | None


def check_usable(signup: Signup, now: datetime) -> None:
    """The verification code of `signup` can still be used now."""
    if signup.state != "unverified":
        raise TokenRefused("this confirmation link was used already", status=409)
    if signup.token_expires_at is None or signup.token_expires_at <= now:
        raise TokenRefused(
            "this confirmation link has expired: sign up again for a new one", status=410
        )


def check_decidable(signup: Signup) -> None:
    if signup.state != "pending":
        raise Conflict(f"this sign-up is {signup.state}, not awaiting a decision", field="state")


def read_list(path: Path | None, packaged: str) -> frozenset[str]:
    """A word list: the operator's file at `path`, else the one shipped as `data/<packaged>`;
    one entry a line, `#` starts a comment, compared in lower case."""
    if path is not None:
        text = path.read_text(encoding="utf-8")
    else:
        text = (resources.files("sws.signup") / "data" / packaged).read_text(encoding="utf-8")
    return frozenset(_entries(text.splitlines()))


def _entries(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        entry = line.split("#", 1)[0].strip().lower()
        if entry:
            yield entry
