"""Team values and rules: invitations to a tenant, and the tenant's owners that must remain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sws.errors import Conflict, Invalid
from sws.identity.roles import TENANT_ROLES
from sws.signup.model import TokenRefused

InvitationState = Literal["pending", "accepted", "revoked", "expired"]


@dataclass(frozen=True, slots=True)
class Invitation:
    id: str
    tenant_id: str
    email: str
    role: str
    language: str
    invited_by: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None
    user_id: str | None = None

    def state(self, now: datetime) -> InvitationState:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "pending"


def check_tenant_role(value: str) -> str:
    """A role an owner may give: never the cloud's admin."""
    if value not in TENANT_ROLES:
        raise Invalid(f"role must be one of {', '.join(TENANT_ROLES)}", field="role")
    return value


def check_acceptable(invitation: Invitation, now: datetime) -> None:
    """A code works once, until it expires or is revoked: else 409 or 410 on `token`."""
    state = invitation.state(now)
    if state == "accepted":
        raise TokenRefused("this invitation was accepted already", status=409)
    if state == "revoked":
        raise TokenRefused("this invitation was revoked by the tenant's owner", status=410)
    if state == "expired":
        raise TokenRefused("this invitation has expired: ask the owner for a new one", status=410)


def check_owner_remains(owners: list[str], leaving: str) -> None:
    """The tenant keeps at least one enabled owner: `leaving` may go only if another stays."""
    if leaving in owners and len(set(owners) - {leaving}) == 0:
        raise Conflict(
            "the tenant's last owner cannot be removed, demoted or disabled: "
            "make another member owner first",
            field="user_id",
        )


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's place in a tenant other than its own, with its role there."""

    user_id: str
    tenant_id: str
    tenant_name: str
    role: str
    enabled: bool
    tenant_enabled: bool = True


def check_not_in_team(memberships: list[Membership], home_tenant: str, tenant_id: str) -> None:
    """A user joins a team once: its own tenant, or one it joined already, is 409."""
    if tenant_id == home_tenant or any(m.tenant_id == tenant_id for m in memberships):
        raise Conflict("this account belongs to the team already: log in with it",
                       field="token")
