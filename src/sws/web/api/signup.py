"""Routes of the front door: sign up, confirm, reset a password (no token needed, every one
rate-limited: 429 with `Retry-After`), and the admin's queue of sign-ups awaiting approval.

The answers to `POST /v1/signup` and `POST /v1/password-reset` never say whether the address
has an account: both are 202 with the same body whatever happens next.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal, TypeVar

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sws.signup.limits import TooManyRequests
from sws.signup.model import MAX_EMAIL, MAX_PASSWORD, Signup
from sws.signup.service import Decision, SignupRequest, Verified
from sws.web.api.responses import problems
from sws.web.deps import Admin, Page, Paged, Services
from sws.web.problems import problem

router = APIRouter(prefix="/v1", tags=["signup"])
admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])
T = TypeVar("T")
ACCEPTED = (
    "If this address can receive mail, a message is on its way to it: follow its link "
    "within the time it states."
)


class SignupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=MAX_EMAIL)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    tenant_name: str = Field(min_length=1, max_length=64)
    language: Literal["en", "zh"] = "en"


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str = ACCEPTED


class TokenUse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=256)


class VerifiedRead(BaseModel):
    """`active`: the tenant is open, log in as `user_name` (or the e-mail address) with the
    password chosen at sign-up; `pending`: the operator decides, a mail will tell."""

    state: Literal["active", "pending"]
    tenant_id: str | None = None
    user_name: str | None = None


class ResetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=MAX_EMAIL)


class ResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class ResetDone(BaseModel):
    status: Literal["reset"] = "reset"
    user_name: str


class SignupRead(BaseModel):
    id: str
    email: str
    tenant_name: str
    language: str
    state: str
    created_at: datetime
    address: str | None


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limited(call: Callable[[], T]) -> T | Response:
    """The use case's answer, or its 429 with `Retry-After`."""
    try:
        return call()
    except TooManyRequests as exc:
        response = problem(exc.status, exc.title, exc.detail, field=exc.field)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response


@router.post(
    "/signup", status_code=202, response_model=Accepted, responses=problems(403, 409, 422, 429)
)
def sign_up(body: SignupCreate, request: Request, services: Services) -> Accepted | Response:
    """Ask for a tenant; a confirmation mail follows (docs/signup.md)."""
    spec = SignupRequest(
        email=body.email,
        password=body.password,
        tenant_name=body.tenant_name,
        language=body.language,
        address=_address(request),
    )
    done = _limited(lambda: services.front_door.sign_up(spec))
    return done if isinstance(done, Response) else Accepted()


@router.post(
    "/signup/verify", response_model=VerifiedRead, responses=problems(400, 403, 409, 410, 422, 429)
)
def verify(body: TokenUse, request: Request, services: Services) -> VerifiedRead | Response:
    """Use the mailed confirmation code (once): the tenant opens, or waits for approval."""
    done = _limited(lambda: services.front_door.verify(token=body.token, address=_address(request)))
    return done if isinstance(done, Response) else _verified(done)


def _verified(outcome: Verified) -> VerifiedRead:
    return VerifiedRead.model_validate(outcome, from_attributes=True)


class ResendCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=MAX_EMAIL)


@router.post(
    "/signup/resend", status_code=202, response_model=Accepted, responses=problems(422, 429)
)
def resend(body: ResendCreate, request: Request, services: Services) -> Accepted | Response:
    """A fresh confirmation link for an unconfirmed sign-up (the one before stops working)."""
    done = _limited(lambda: services.front_door.resend(email=body.email, address=_address(request)))
    return done if isinstance(done, Response) else Accepted()


@router.post(
    "/password-reset", status_code=202, response_model=Accepted, responses=problems(422, 429)
)
def request_reset(body: ResetCreate, request: Request, services: Services) -> Accepted | Response:
    """Mail a single-use reset link to this address, if it is a user's."""
    done = _limited(
        lambda: services.front_door.request_reset(email=body.email, address=_address(request))
    )
    return done if isinstance(done, Response) else Accepted()


@router.post(
    "/password-reset/confirm",
    response_model=ResetDone,
    responses=problems(400, 409, 410, 422, 429),
)
def confirm_reset(body: ResetConfirm, request: Request, services: Services) -> ResetDone | Response:
    """Use the mailed code (once) to set a new password; every session of the user ends."""
    done = _limited(
        lambda: services.front_door.confirm_reset(
            token=body.token, password=body.password, address=_address(request)
        )
    )
    return done if isinstance(done, Response) else ResetDone(user_name=done.name)


def signup_read(signup: Signup) -> SignupRead:
    return SignupRead.model_validate(signup, from_attributes=True)


@admin_router.get("/signups", response_model=Page[SignupRead], responses=problems(401, 403))
def pending_signups(_admin: Admin, services: Services, page: Paged) -> Page[SignupRead]:
    """Confirmed sign-ups awaiting a decision (SWS_SIGNUP=approval), oldest first."""
    found = [signup_read(s) for s in services.front_door.pending()]
    return page.window(found, key=lambda s: f"{s.created_at:%Y%m%dT%H%M%S%f}-{s.id}")


@admin_router.post(
    "/signups/{signup_id}/approve",
    response_model=VerifiedRead,
    responses=problems(401, 403, 404, 409),
)
def approve(signup_id: str, request: Request, admin: Admin, services: Services) -> VerifiedRead:
    """Open the tenant of a pending sign-up (audited)."""
    decision = Decision(signup_id=signup_id, actor=admin, address=_address(request))
    return _verified(services.front_door.approve(decision))


@admin_router.post(
    "/signups/{signup_id}/deny", status_code=204, responses=problems(401, 403, 404, 409)
)
def deny(signup_id: str, request: Request, admin: Admin, services: Services) -> Response:
    """Refuse a pending sign-up (audited); its owner is told by mail."""
    decision = Decision(signup_id=signup_id, actor=admin, address=_address(request))
    services.front_door.deny(decision)
    return Response(status_code=204)
