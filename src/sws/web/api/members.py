"""Routes for a tenant's owner: add a member, enable or disable one (the list is
`GET /v1/users`). Only the owner (or the cloud's admin, in the admin's own tenant) may."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sws.identity import members
from sws.identity.model import User
from sws.web.api.responses import problems
from sws.web.deps import Caller, Services

router = APIRouter(prefix="/v1", tags=["identity"])


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=8, max_length=1024)


class MemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class MemberRead(BaseModel):
    id: str
    tenant_id: str
    name: str
    role: str
    enabled: bool


def _read(user: User) -> MemberRead:
    return MemberRead.model_validate(user, from_attributes=True)


@router.post(
    "/users", status_code=201, response_model=MemberRead, responses=problems(401, 403, 409, 422)
)
def add_member(body: MemberCreate, caller: Caller, services: Services) -> MemberRead:
    """Add a member to the caller's tenant (the owner only)."""
    spec = members.NewMember(name=body.name, password=body.password)
    return _read(
        members.add_member(db=services.db, clock=services.clock, caller=caller, member=spec)
    )


@router.patch(
    "/users/{user_id}", response_model=MemberRead, responses=problems(401, 403, 404, 409, 422)
)
def update_member(
    user_id: str, body: MemberUpdate, caller: Caller, services: Services
) -> MemberRead:
    """Enable or disable a member of the caller's tenant; disabling ends its sessions."""
    return _read(
        members.set_member_enabled(
            db=services.db,
            clock=services.clock,
            caller=caller,
            user_id=user_id,
            enabled=body.enabled,
        )
    )
