"""Invitations: an owner invites an address into its tenant with a role; the invitee follows
the mailed link and becomes a user of the tenant with that role.

The code is 256 random bits, mailed once and stored as its SHA-256; it works once, until it
expires (`SWS_INVITATION_HOURS`) or the owner revokes it. A used code answers 409, an expired
or revoked one 410, an unknown one 400 (all on `token`). Every step is audited in the
transaction that takes it, and the mail is enqueued in that same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from sws.audit import repository as audit_repo
from sws.audit.model import AuditRecord, check_record
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, NotFound
from sws.identity import repository as repo
from sws.identity import team_repository as team_repo
from sws.identity.auth import PasswordHashing
from sws.identity.members import check_manager
from sws.identity.model import NAME_PATTERN, Principal, User, check_name, check_role
from sws.identity.team_model import Invitation, check_acceptable, check_tenant_role
from sws.mail.model import Mail
from sws.mail.outbox import enqueue
from sws.mail.templates import language_of, render
from sws.signup.model import PasswordPolicy, TokenRefused, new_token, normalise_email, token_hash

_passwords = PasswordHashing()


@dataclass(frozen=True, slots=True)
class TeamConfig:
    public_url: str = "http://127.0.0.1:8000"
    ttl: timedelta = timedelta(hours=72)
    passwords: PasswordPolicy = field(default_factory=PasswordPolicy)


@dataclass(frozen=True, slots=True)
class InvitationRequest:
    email: str
    role: str = "member"
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Acceptance:
    """What the invitee gives: the code, a password and, optionally, a user name (else the
    address)."""

    token: str
    password: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Joined:
    tenant_id: str
    user_id: str
    user_name: str
    role: str


class Team:
    """Invitations of one cloud, with its database, clock and settings."""

    def __init__(self, *, db: Database, clock: Clock, config: TeamConfig) -> None:
        self.db = db
        self.clock = clock
        self.config = config

    def invite(self, *, caller: Principal, request: InvitationRequest) -> Invitation:
        """Mail an invitation to join the caller's tenant with a role (owners only)."""
        check_manager(caller)
        email = normalise_email(request.email).address.lower()
        role = check_tenant_role(request.role)
        now = self.clock.now()
        secret, hashed = new_token()
        invitation = Invitation(
            id=uuid.uuid4().hex, tenant_id=caller.tenant_id, email=email, role=role,
            language=language_of(request.language), invited_by=caller.user_name,
            created_at=now, expires_at=now + self.config.ttl,
        )
        with self.db.begin() as conn:
            team_repo.insert_invitation(conn, invitation, hashed)
            self._mail(conn, invitation, secret, now)
            _audit(conn, now, caller, "invitation.create", invitation, f"email={email} role={role}")
        return invitation

    def list(
        self, *, caller: Principal, limit: int, marker: str | None
    ) -> list[Invitation]:
        with self.db.read() as conn:
            return team_repo.list_invitations(conn, caller.tenant_id, limit, marker)

    def revoke(self, *, caller: Principal, invitation_id: str) -> Invitation:
        """Revoke a pending invitation: its link stops working at once."""
        check_manager(caller)
        now = self.clock.now()
        with self.db.begin() as conn:
            found = team_repo.get_invitation(conn, invitation_id)
            if found is None or found.tenant_id != caller.tenant_id:
                raise NotFound(f"invitation {invitation_id} not found")
            if found.state(now) != "pending":
                raise Conflict(f"the invitation is {found.state(now)}, not pending", field="id")
            team_repo.update_invitation(conn, found.id, {"revoked_at": now})
            _audit(conn, now, caller, "invitation.revoke", found, f"email={found.email}")
        return replace(found, revoked_at=now)

    def accept(self, *, acceptance: Acceptance) -> Joined:
        """Use an invitation's code once: a new user of the tenant, with the invited role."""
        now = self.clock.now()
        with self.db.begin() as conn:
            found = team_repo.find_invitation_by_token(conn, token_hash(acceptance.token))
            if found is None:
                raise TokenRefused("this invitation code is not valid", status=400)
            check_acceptable(found, now)
            self.config.passwords.check(acceptance.password, normalise_email(found.email))
            user = self._new_user(conn, found, acceptance, now)
            team_repo.update_invitation(conn, found.id, {"accepted_at": now, "user_id": user.id})
            joiner = Principal(user_id=user.id, user_name=user.name, tenant_id=user.tenant_id,
                               role=user.role, token_id="", expires_at=now)
            _audit(conn, now, joiner, "invitation.accept", found, f"user={user.name}")
        return Joined(tenant_id=user.tenant_id, user_id=user.id, user_name=user.name,
                      role=user.role)

    def _new_user(
        self, conn: Connection, invitation: Invitation, acceptance: Acceptance, now: datetime
    ) -> User:
        if team_repo.email_taken(conn, invitation.email):
            raise Conflict(
                "this address belongs to an SWS user already: log in with it, or ask for an "
                "invitation to another address", field="token",
            )
        name = _user_name(conn, acceptance.name, invitation.email)
        tenant = repo.get_tenant(conn, invitation.tenant_id)
        if tenant is None or not tenant.enabled:
            raise TokenRefused("the inviting tenant is no longer open", status=410)
        user = User(id=uuid.uuid4().hex, tenant_id=invitation.tenant_id, name=name,
                    role=check_role(invitation.role), enabled=True, created_at=now)
        password_hash = _passwords.hash(acceptance.password)
        repo.insert_user(conn, user, password_hash, email=invitation.email)
        return user

    def _mail(self, conn: Connection, invitation: Invitation, secret: str, now: datetime) -> None:
        tenant = repo.get_tenant(conn, invitation.tenant_id)
        hours = int(self.config.ttl.total_seconds() // 3600) or 1
        link = self.config.public_url.rstrip("/") + f"/console/invitations/accept?token={secret}"
        subject, text, html = render("team_invite", invitation.language, {
            "tenant": tenant.name if tenant else invitation.tenant_id, "role": invitation.role,
            "inviter": invitation.invited_by, "link": link, "token": secret, "hours": str(hours),
        })
        mail = Mail(to=invitation.email, subject=subject, text=text, html=html)
        enqueue(conn, key=f"team-invite:{invitation.id}", mail=mail, now=now)


def _user_name(conn: Connection, wanted: str | None, email: str) -> str:
    """The name asked for (409 if taken), else the address when it is a valid, free name."""
    if wanted:
        check_name(wanted, field="name")
        if repo.user_name_taken(conn, wanted):
            raise Conflict(f"a user named {wanted!r} exists already", field="name")
        return wanted
    if NAME_PATTERN.match(email) and not repo.user_name_taken(conn, email):
        return email
    return f"{email.partition('@')[0][:40]}-{uuid.uuid4().hex[:8]}"


def _audit(
    conn: Connection, now: datetime, caller: Principal, action: str, invitation: Invitation,
    detail: str,
) -> None:
    record = AuditRecord(
        actor_user_id=caller.user_id, actor_name=caller.user_name, action=action,
        target_type="invitation", target_id=invitation.id, detail=detail, source="api",
    )
    audit_repo.insert_entry(conn, check_record(record), now)
