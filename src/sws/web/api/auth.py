"""Routes for tokens: log in, see who you are, log out."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from sws.web.deps import Caller, Services

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class PrincipalRead(BaseModel):
    user_id: str
    user_name: str
    tenant_id: str
    role: str
    expires_at: datetime


class TokenRead(BaseModel):
    token: str
    expires_at: datetime
    principal: PrincipalRead


@router.post("/tokens", status_code=201, response_model=TokenRead)
def create_token(body: TokenCreate, services: Services) -> TokenRead:
    issued = services.auth.issue_token(name=body.name, password=body.password)
    who = PrincipalRead.model_validate(issued.principal, from_attributes=True)
    return TokenRead(token=issued.secret, expires_at=who.expires_at, principal=who)


@router.get("/tokens", response_model=PrincipalRead)
def whoami(caller: Caller) -> PrincipalRead:
    return PrincipalRead.model_validate(caller, from_attributes=True)


@router.delete("/tokens", status_code=204)
def revoke_token(caller: Caller, services: Services) -> Response:
    services.auth.revoke(principal=caller)
    return Response(status_code=204)
