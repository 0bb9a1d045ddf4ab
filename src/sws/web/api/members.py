"""Routes for a tenant's team: an owner adds members, changes their roles, disables and
removes them, and invites people by e-mail (the list of users is `GET /v1/users`). Who may
call what is the role policy's (sws.identity.roles), applied once for every route."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from sws.identity import members, team_tenants
from sws.identity.invitations import Acceptance, InvitationRequest, Team, TeamConfig
from sws.identity.model import User
from sws.identity.team_keystone import team_directory
from sws.identity.team_model import Invitation
from sws.web.api.responses import problems
from sws.web.deps import Caller, Page, Paged, Services

router = APIRouter(prefix="/v1", tags=["identity"])
Id = Annotated[str, Path(max_length=64)]
RoleName = Annotated[str, Field(pattern="^(owner|member|billing|viewer)$")]


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=8, max_length=1024)
    role: RoleName = "member"


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    role: RoleName | None = None


class MemberRead(BaseModel):
    id: str
    tenant_id: str
    name: str
    role: str
    enabled: bool


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)
    role: RoleName = "member"
    language: str = Field(default="en", pattern="^(en|zh)$")


class InvitationRead(BaseModel):
    id: str
    email: str
    role: str
    state: str
    invited_by: str
    created_at: datetime
    expires_at: datetime


class InvitationAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)
    name: str | None = Field(default=None, min_length=2, max_length=64)


class Joined(BaseModel):
    tenant_id: str
    user_id: str
    user_name: str
    role: str


class PlaceRead(BaseModel):
    tenant_id: str
    tenant_name: str
    role: str
    own: bool
    current: bool


class TenantSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_id: str = Field(min_length=1, max_length=64)


def _read(user: User) -> MemberRead:
    return MemberRead.model_validate(user, from_attributes=True)


def team(services: Services) -> Team:
    """The team's use cases with this cloud's settings (links as sign-up's, its passwords)."""
    door = services.front_door.config
    config = TeamConfig(
        public_url=door.public_url, passwords=door.passwords,
        ttl=timedelta(hours=services.settings.invitation_hours),
    )
    return Team(db=services.db, clock=services.clock, config=config,
                directory=team_directory(services.settings))


def _invitation(found: Invitation, now: datetime) -> InvitationRead:
    return InvitationRead(
        id=found.id, email=found.email, role=found.role, state=found.state(now),
        invited_by=found.invited_by, created_at=found.created_at, expires_at=found.expires_at,
    )


@router.post(
    "/users", status_code=201, response_model=MemberRead, responses=problems(401, 403, 409, 422)
)
def add_member(body: MemberCreate, caller: Caller, services: Services) -> MemberRead:
    """Add a member to the caller's tenant (the owner only)."""
    spec = members.NewMember(name=body.name, password=body.password, role=body.role)
    return _read(
        members.add_member(db=services.db, clock=services.clock, caller=caller, member=spec,
                           directory=team_directory(services.settings))
    )


@router.patch(
    "/users/{user_id}", response_model=MemberRead, responses=problems(401, 403, 404, 409, 422)
)
def update_member(
    user_id: Id, body: MemberUpdate, caller: Caller, services: Services
) -> MemberRead:
    """Change a member's role or enable or disable it (disabling ends its sessions); the
    tenant's last owner stays an enabled owner (409)."""
    change = members.MemberChange(role=body.role, enabled=body.enabled)
    return _read(
        members.change_member(
            db=services.db, clock=services.clock, caller=caller, user_id=user_id, change=change,
            directory=team_directory(services.settings),
        )
    )


@router.delete(
    "/users/{user_id}", status_code=204, responses=problems(401, 403, 404, 409)
)
def remove_member(user_id: Id, caller: Caller, services: Services) -> Response:
    """Remove a member from the caller's tenant with its sessions; never the last owner."""
    members.remove_member(db=services.db, clock=services.clock, caller=caller, user_id=user_id,
                          directory=team_directory(services.settings))
    return Response(status_code=204)


@router.post(
    "/invitations", status_code=201, response_model=InvitationRead,
    responses=problems(401, 403, 422),
)
def invite(body: InvitationCreate, caller: Caller, services: Services) -> InvitationRead:
    """Mail an invitation to join the caller's tenant with a role (the owner only)."""
    request = InvitationRequest(email=body.email, role=body.role, language=body.language)
    found = team(services).invite(caller=caller, request=request)
    return _invitation(found, services.clock.now())


@router.get("/invitations", response_model=Page[InvitationRead], responses=problems(401, 403))
def list_invitations(caller: Caller, services: Services, page: Paged) -> Page[InvitationRead]:
    """The caller's tenant's invitations, with their state."""
    found = team(services).list(caller=caller, limit=page.limit, marker=page.marker)
    now = services.clock.now()
    return page.of([_invitation(i, now) for i in found])


@router.delete(
    "/invitations/{invitation_id}", response_model=InvitationRead,
    responses=problems(401, 403, 404, 409),
)
def revoke_invitation(invitation_id: Id, caller: Caller, services: Services) -> InvitationRead:
    """Revoke a pending invitation: its link stops working at once."""
    found = team(services).revoke(caller=caller, invitation_id=invitation_id)
    return _invitation(found, services.clock.now())


@router.post(
    "/invitations/accept", status_code=201, response_model=Joined,
    responses=problems(400, 401, 409, 410, 422),
)
def accept_invitation(body: InvitationAccept, services: Services) -> Joined:
    """Use an invitation's code once: become a user of the tenant with the invited role
    (then log in with `POST /v1/auth/tokens`). An address with an SWS account joins with it:
    `password` is that account's (401 if wrong). Used: 409; expired or revoked: 410."""
    joined = team(services).accept(
        acceptance=Acceptance(token=body.token, password=body.password, name=body.name)
    )
    return Joined(tenant_id=joined.tenant_id, user_id=joined.user_id,
                  user_name=joined.user_name, role=joined.role)


@router.get("/account/tenants", response_model=list[PlaceRead], responses=problems(401))
def my_tenants(caller: Caller, services: Services) -> list[PlaceRead]:
    """The tenants the caller may act in: its own, then the teams it joined."""
    found = team_tenants.places(db=services.db, caller=caller)
    return [PlaceRead.model_validate(p, from_attributes=True) for p in found]


@router.post("/account/tenant", response_model=PlaceRead, responses=problems(401, 403, 404, 422))
def switch_tenant(body: TenantSwitch, caller: Caller, services: Services) -> PlaceRead:
    """Act in another of the caller's tenants from the next request, with this session
    (an API credential stays where it was made: 403)."""
    found = team_tenants.switch(db=services.db, caller=caller, tenant_id=body.tenant_id)
    return PlaceRead.model_validate(found, from_attributes=True)
