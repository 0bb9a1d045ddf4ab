"""Changing a user's e-mail address, with re-verification.

The user asks with its password; a single-use code (SHA-256 stored) is mailed to the new
address and the old address is told. Only the code's use moves the account (and its
sign-up, by which resets find the person) to the new address. An address that belongs to
another account gets the same answer, and its owner a mail instead of a code, so the
request never tells who is registered. Every mail is in the user's language; the request
and the change are audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection

from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Invalid, NotFound
from sws.identity import account_repository as account_repo
from sws.identity import repository as repo
from sws.identity.account_audit import audit_own, audit_user
from sws.identity.account_model import require_session
from sws.identity.model import Principal, User
from sws.identity.two_factor import Gate, Proof, check_password
from sws.mail.model import Mail
from sws.mail.outbox import enqueue
from sws.mail.templates import render
from sws.signup.model import (
    Email,
    TokenRefused,
    check_not_disposable,
    new_token,
    normalise_email,
    token_hash,
)


@dataclass(frozen=True, slots=True)
class EmailChangeConfig:
    public_url: str = "http://127.0.0.1:8000"
    ttl: timedelta = timedelta(hours=24)
    blocked_domains: frozenset[str] = field(default_factory=frozenset)


def request_change(
    *, gate: Gate, caller: Principal, proof: Proof, new_email: str, config: EmailChangeConfig
) -> None:
    """Mail a confirmation code to `new_email` (or a warning to its owner if it is taken)
    and tell the old address; the same outcome to the caller either way."""
    require_session(caller)
    email = normalise_email(new_email)
    check_not_disposable(email, config.blocked_domains)
    check_password(gate, caller, proof)
    now = gate.clock.now()
    with gate.db.begin() as conn:
        user, old = _user_and_address(conn, caller)
        if old is not None and old == email.address.lower():
            raise Invalid("this is the account's address already", field="email")
        mailer = _Mails(conn, user, config, now)
        if _taken(conn, email, user.id):
            mailer.taken(email.address)
        else:
            mailer.verify(email.address)
        if old is not None:
            mailer.notice(old, email.address)
        audit_own(conn, gate.clock, caller, "account.email_request", address=proof.address)


def confirm_change(*, db: Database, clock: Clock, token: str) -> str:
    """Use a code once: the account takes its new address (which is answered)."""
    now = clock.now()
    with db.begin() as conn:
        row = account_repo.find_email_change(conn, token_hash(token))
        if row is None:
            raise TokenRefused("this e-mail confirmation code is not valid", status=400)
        if row["used_at"] is not None:
            raise TokenRefused("this e-mail confirmation link was used already", status=409)
        if row["expires_at"] <= now:
            raise TokenRefused("this e-mail confirmation link has expired: ask again", status=410)
        user = repo.get_user(conn, row["user_id"])
        if user is None or not user.enabled:
            raise TokenRefused("this e-mail confirmation code is not valid", status=400)
        email = normalise_email(row["new_email"])
        account_repo.set_email(conn, user.id, email.address)
        account_repo.move_signup_email(conn, user.id, email.address, email.key)
        if not account_repo.use_email_change(conn, row["id"], now):
            raise TokenRefused("this e-mail confirmation link was used already", status=409)
        audit_user(conn, clock, user, "account.email_change")
    return email.address


def _user_and_address(conn: Connection, caller: Principal) -> tuple[User, str | None]:
    user = repo.get_user(conn, caller.user_id)
    if user is None:
        raise NotFound("this account's address is kept by its identity provider")
    return user, repo.user_email(conn, user.id)


def _taken(conn: Connection, email: Email, user_id: str) -> bool:
    return account_repo.email_taken(conn, email.address, user_id) or (
        account_repo.email_key_held(conn, email.key, user_id)
    )


class _Mails:
    """The three mails of a request, in the user's language, each queued once."""

    def __init__(
        self, conn: Connection, user: User, config: EmailChangeConfig, now: datetime
    ) -> None:
        self.conn, self.user, self.config, self.now = conn, user, config, now
        self.language = account_repo.mail_language(conn, user.id)
        self.request_id = uuid.uuid4().hex

    def verify(self, address: str) -> None:
        secret, hashed = new_token()
        account_repo.insert_email_change(self.conn, {
            "user_id": self.user.id, "new_email": address, "token_hash": hashed,
            "created_at": self.now, "expires_at": self.now + self.config.ttl,
        })
        hours = str(max(1, int(self.config.ttl.total_seconds() // 3600)))
        link = self._link(f"/console/account/email/confirm?token={secret}")
        self._send("email_change_verify", address, email=address, token=secret, hours=hours,
                   link=link)

    def taken(self, address: str) -> None:
        self._send("email_change_taken", address, email=address,
                   link=self._link("/console/password-reset"))

    def notice(self, old: str, new: str) -> None:
        self._send("email_change_notice", old, email=new, link=self._link("/console/settings"))

    def _send(self, template: str, to: str, **context: str) -> None:
        subject, text, html = render(template, self.language, {"user": self.user.name, **context})
        mail = Mail(to=to, subject=subject, text=text, html=html)
        enqueue(self.conn, key=f"{template}:{self.request_id}", mail=mail, now=self.now)

    def _link(self, path: str) -> str:
        return self.config.public_url.rstrip("/") + path
