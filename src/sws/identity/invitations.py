"""Invitations: an owner invites an address into its tenant with a role; the invitee follows
the mailed link and becomes a user of the tenant with that role. An address that has an SWS
account already joins with that account, proven by its password (no second account): the
user then switches between its tenants (sws.identity.team_tenants).

The code is 256 random bits, mailed once and stored as its SHA-256; it works once, until it
expires (`SWS_INVITATION_HOURS`) or the owner revokes it. A used code answers 409, an expired
or revoked one 410, an unknown one 400 (all on `token`). Every step is audited in the
transaction that takes it, and the mail is enqueued in that same transaction. In Keystone mode
the user and its role assignments are Keystone's too (sws.identity.team_keystone), changed
inside that transaction: if Keystone refuses, nothing is accepted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from sws.audit import repository as audit_repo
from sws.audit.model import AuditRecord, check_record
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, NotFound, Unauthorized
from sws.identity import repository as repo
from sws.identity import team_repository as team_repo
from sws.identity.auth import PasswordHashing
from sws.identity.members import check_manager
from sws.identity.model import NAME_PATTERN, Principal, User, check_name, check_role
from sws.identity.team_keystone import NO_DIRECTORY, TeamDirectory
from sws.identity.team_model import (
    Invitation,
    check_acceptable,
    check_not_in_team,
    check_tenant_role,
)
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

    def __init__(
        self, *, db: Database, clock: Clock, config: TeamConfig,
        directory: TeamDirectory = NO_DIRECTORY,
    ) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.directory = directory  # Keystone's users and roles, kept in step

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
        """Use an invitation's code once: a new user of the tenant, with the invited role, or
        the address's own account joining the tenant with it."""
        now = self.clock.now()
        with self.db.begin() as conn:
            found = team_repo.find_invitation_by_token(conn, token_hash(acceptance.token))
            if found is None:
                raise TokenRefused("this invitation code is not valid", status=400)
            check_acceptable(found, now)
            existing = repo.find_user_by_email(conn, found.email)
            if existing is not None:
                user = self._join(conn, found, existing, acceptance, now)
            else:
                self.config.passwords.check(acceptance.password, normalise_email(found.email))
                user = self._new_user(conn, found, acceptance, now)
            team_repo.update_invitation(conn, found.id, {"accepted_at": now, "user_id": user.id})
            joiner = Principal(user_id=user.id, user_name=user.name, tenant_id=user.tenant_id,
                               role=user.role, token_id="", expires_at=now)
            _audit(conn, now, joiner, "invitation.accept", found, f"user={user.name}")
        return Joined(tenant_id=user.tenant_id, user_id=user.id, user_name=user.name,
                      role=user.role)

    def _join(
        self, conn: Connection, invitation: Invitation, user: User, acceptance: Acceptance,
        now: datetime,
    ) -> User:
        """The address's account joins the team, proven by its own password: no new user."""
        valid = self._password_of(conn, user, acceptance.password)
        if not (valid and user.enabled):
            raise Unauthorized(
                "this address has an SWS account: give that account's password to join "
                "the team with it", field="password",
            )
        check_not_in_team(team_repo.memberships_of(conn, user.id), user.tenant_id,
                          invitation.tenant_id)
        _check_open(conn, invitation)
        team_repo.insert_membership(conn, user.id, invitation.tenant_id, invitation.role, now)
        self.directory.set_role(project_id=invitation.tenant_id, user_name=user.name,
                                role=invitation.role)
        return replace(user, tenant_id=invitation.tenant_id, role=check_role(invitation.role))

    def _password_of(self, conn: Connection, user: User, password: str) -> bool:
        """Whether `password` is the account's: Keystone's in Keystone mode, else SWS's."""
        if self.directory.owns_passwords:
            return self.directory.check_password(user_name=user.name, password=password)
        return _passwords.verify(team_repo.password_hash(conn, user.id), password)

    def _new_user(
        self, conn: Connection, invitation: Invitation, acceptance: Acceptance, now: datetime
    ) -> User:
        name = _user_name(conn, acceptance.name, invitation.email)
        _check_open(conn, invitation)
        user = User(id=uuid.uuid4().hex, tenant_id=invitation.tenant_id, name=name,
                    role=check_role(invitation.role), enabled=True, created_at=now)
        owned = self.directory.owns_passwords  # Keystone keeps it: SWS keeps none
        password_hash = "" if owned else _passwords.hash(acceptance.password)
        repo.insert_user(conn, user, password_hash, email=invitation.email)
        self.directory.join(project_id=invitation.tenant_id, user_name=name,
                            email=invitation.email, password=acceptance.password,
                            role=invitation.role)
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


def _check_open(conn: Connection, invitation: Invitation) -> None:
    tenant = repo.get_tenant(conn, invitation.tenant_id)
    if tenant is None or not tenant.enabled:
        raise TokenRefused("the inviting tenant is no longer open", status=410)


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
