"""Routes for tokens: log in (throttled per user name and client address; with `code` when
the user has two-factor authentication), see who you are, log out."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from sws.identity import service as identity
from sws.identity.account_model import Client, LoginAttempt
from sws.identity.throttle import TooManyLogins
from sws.web import problems
from sws.web.api.responses import problems as declared
from sws.web.deps import Caller, Services

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class TokenCreate(BaseModel):
    """`name` and `password`; `username` is accepted for `name`, as Keystone users write it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        min_length=1, max_length=64, validation_alias=AliasChoices("name", "username")
    )
    password: str = Field(min_length=1, max_length=1024)
    code: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="the TOTP code, or a recovery code, when two-factor authentication is on",
    )


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


@router.post(
    "/tokens", status_code=201, response_model=TokenRead, responses=declared(401, 422, 429)
)
def create_token(body: TokenCreate, request: Request, services: Services) -> Response | TokenRead:
    """Log in. A 401 naming the field `code` means the password was right and the account
    needs its second factor: send the same request with `code`."""
    client = Client(
        address=request.client.host if request.client else "unknown",
        agent=request.headers.get("user-agent", ""),
    )
    attempt = LoginAttempt(name=body.name, password=body.password, client=client, code=body.code)
    try:
        issued = identity.log_in(
            auth=services.auth, throttle=services.login_throttle, attempt=attempt,
            db=services.db, clock=services.clock,
        )
    except TooManyLogins as exc:
        response = problems.problem(exc.status, exc.title, exc.detail, field=exc.field)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    who = PrincipalRead.model_validate(issued.principal, from_attributes=True)
    return TokenRead(token=issued.secret, expires_at=who.expires_at, principal=who)


@router.get("/tokens", response_model=PrincipalRead)
def whoami(caller: Caller) -> PrincipalRead:
    return PrincipalRead.model_validate(caller, from_attributes=True)


@router.delete("/tokens", status_code=204, responses=declared(401, 409))
def revoke_token(caller: Caller, services: Services) -> Response:
    services.auth.revoke(principal=caller)
    return Response(status_code=204)
