"""Routes of the caller's own account (docs/signup.md#your-account): settings, e-mail change,
two-factor authentication, API credentials and sessions. Only the caller's own things can be
named; an API credential reads them but cannot change the account's security."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal, TypeVar

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from sws.identity import account, email_change, two_factor
from sws.identity.account_model import CredentialSpec, SettingsChange
from sws.identity.email_change import EmailChangeConfig
from sws.identity.throttle import TooManyLogins
from sws.identity.two_factor import Gate, Proof
from sws.web import problems as problem_json
from sws.web.api.responses import problems
from sws.web.deps import Caller, Services

router = APIRouter(prefix="/v1/account", tags=["account"])
T = TypeVar("T")
Secret = Field(min_length=1, max_length=1024)
Code = Field(min_length=1, max_length=64)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountRead(BaseModel):
    user_id: str
    name: str
    email: str | None
    language: str
    timezone: str
    two_factor: bool


class AccountUpdate(_Body):
    language: Literal["en", "zh"] | None = None
    timezone: str | None = Field(default=None, min_length=1, max_length=64)


class EmailChangeCreate(_Body):
    email: str = Field(min_length=3, max_length=254)
    password: str = Secret


class TokenUse(_Body):
    token: str = Field(min_length=1, max_length=256)


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"


class EmailRead(BaseModel):
    email: str


class PasswordProof(_Body):
    password: str = Secret


class CodeProof(_Body):
    password: str = Secret
    code: str = Code


class CodeUse(_Body):
    code: str = Code


class TwoFactorRead(BaseModel):
    enabled: bool
    pending: bool
    recovery_codes_left: int


class EnrolmentRead(BaseModel):
    secret: str
    otpauth_uri: str


class RecoveryCodesRead(BaseModel):
    recovery_codes: list[str]


class CredentialCreate(_Body):
    name: str = Field(min_length=1, max_length=64)
    expires_in_days: int = Field(default=90, ge=1, le=365)


class CredentialRead(BaseModel):
    id: str
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


class CredentialIssued(CredentialRead):
    secret: str


class SessionRead(BaseModel):
    id: str
    issued_at: datetime
    expires_at: datetime
    last_seen_at: datetime | None
    address: str | None
    agent: str | None
    current: bool


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _proof(body: PasswordProof | CodeProof, request: Request) -> Proof:
    return Proof(password=body.password, code=getattr(body, "code", None),
                 address=_address(request))


def _gate(services: Services) -> Gate:
    return Gate(db=services.db, clock=services.clock, throttle=services.login_throttle)


def _throttled(call: Callable[[], T]) -> T | Response:
    """The use case's answer, or its 429 with `Retry-After`."""
    try:
        return call()
    except TooManyLogins as exc:
        response = problem_json.problem(exc.status, exc.title, exc.detail, field=exc.field)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response


# ---- settings ----------------------------------------------------------------------------


@router.get("", response_model=AccountRead, responses=problems(401, 404))
def read_account(caller: Caller, services: Services) -> AccountRead:
    found = account.settings(db=services.db, caller=caller)
    return AccountRead.model_validate(found, from_attributes=True)


@router.patch("", response_model=AccountRead, responses=problems(401, 404, 422))
def update_account(body: AccountUpdate, caller: Caller, services: Services) -> AccountRead:
    """The language of the console and of every mail to you, and your time zone (IANA)."""
    change = SettingsChange(language=body.language, timezone=body.timezone)
    found = account.change_settings(
        db=services.db, clock=services.clock, caller=caller, change=change
    )
    return AccountRead.model_validate(found, from_attributes=True)


# ---- e-mail ------------------------------------------------------------------------------


@router.post(
    "/email", status_code=202, response_model=Accepted,
    responses=problems(401, 403, 404, 422, 429),
)
def change_email(
    body: EmailChangeCreate, request: Request, caller: Caller, services: Services
) -> Accepted | Response:
    """Ask to move the account to a new address: a code goes there, the old one is told.
    The answer is the same whether or not the address belongs to another account."""
    config = services.front_door.config
    settings = EmailChangeConfig(
        public_url=config.public_url, ttl=config.verify_ttl,
        blocked_domains=config.blocked_domains,
    )
    proof = Proof(password=body.password, address=_address(request))
    done = _throttled(lambda: email_change.request_change(
        gate=_gate(services), caller=caller, proof=proof, new_email=body.email, config=settings,
    ))
    return done if isinstance(done, Response) else Accepted()


@router.post(
    "/email/confirm", response_model=EmailRead, responses=problems(400, 409, 410, 422)
)
def confirm_email(body: TokenUse, services: Services) -> EmailRead:
    """Use the mailed code (once, no login needed): the account takes the new address."""
    email = email_change.confirm_change(db=services.db, clock=services.clock, token=body.token)
    return EmailRead(email=email)


# ---- two-factor authentication ---------------------------------------------------------


@router.get("/2fa", response_model=TwoFactorRead, responses=problems(401))
def read_two_factor(caller: Caller, services: Services) -> TwoFactorRead:
    found = two_factor.status(db=services.db, user_id=caller.user_id)
    return TwoFactorRead.model_validate(found, from_attributes=True)


@router.post(
    "/2fa", status_code=201, response_model=EnrolmentRead,
    responses=problems(401, 403, 409, 422, 429),
)
def enrol_two_factor(
    body: PasswordProof, request: Request, caller: Caller, services: Services
) -> EnrolmentRead | Response:
    """A TOTP secret for your authenticator app, shown this once; confirm it with a code."""
    proof = _proof(body, request)
    done = _throttled(lambda: two_factor.enrol(gate=_gate(services), caller=caller, proof=proof))
    if isinstance(done, Response):
        return done
    return EnrolmentRead(secret=done.secret, otpauth_uri=done.uri)


@router.post(
    "/2fa/confirm", response_model=RecoveryCodesRead,
    responses=problems(401, 403, 409, 422, 429),
)
def confirm_two_factor(
    body: CodeUse, request: Request, caller: Caller, services: Services
) -> RecoveryCodesRead | Response:
    """Turn 2FA on with a first code; the answer holds ten recovery codes, shown this once."""
    done = _throttled(lambda: two_factor.confirm(
        gate=_gate(services), caller=caller, code=body.code, address=_address(request)
    ))
    return done if isinstance(done, Response) else RecoveryCodesRead(recovery_codes=done)


@router.post(
    "/2fa/disable", status_code=204, responses=problems(401, 403, 409, 422, 429)
)
def disable_two_factor(
    body: CodeProof, request: Request, caller: Caller, services: Services
) -> Response:
    """Turn 2FA off: your password and a code (TOTP or recovery)."""
    proof = _proof(body, request)
    done = _throttled(lambda: two_factor.disable(gate=_gate(services), caller=caller,
                                                 proof=proof))
    return done if isinstance(done, Response) else Response(status_code=204)


@router.post(
    "/2fa/recovery-codes", response_model=RecoveryCodesRead,
    responses=problems(401, 403, 409, 422, 429),
)
def new_recovery_codes(
    body: CodeProof, request: Request, caller: Caller, services: Services
) -> RecoveryCodesRead | Response:
    """Ten new recovery codes (the old ones stop working): your password and a code."""
    proof = _proof(body, request)
    done = _throttled(lambda: two_factor.regenerate(gate=_gate(services), caller=caller,
                                                    proof=proof))
    return done if isinstance(done, Response) else RecoveryCodesRead(recovery_codes=done)


# ---- API credentials -------------------------------------------------------------------


@router.get("/credentials", response_model=list[CredentialRead], responses=problems(401))
def list_credentials(caller: Caller, services: Services) -> list[CredentialRead]:
    found = account.credentials(db=services.db, clock=services.clock, caller=caller)
    return [CredentialRead.model_validate(c, from_attributes=True) for c in found]


@router.post(
    "/credentials", status_code=201, response_model=CredentialIssued,
    responses=problems(401, 403, 404, 409, 422),
)
def create_credential(
    body: CredentialCreate, caller: Caller, services: Services
) -> CredentialIssued:
    """A named key for scripts, sent as a token (Bearer or X-Auth-Token); `secret` is shown
    this once. It acts as you, with your role of the moment, until it expires or is revoked."""
    spec = CredentialSpec(name=body.name, days=body.expires_in_days)
    issued = account.create_credential(
        db=services.db, clock=services.clock, caller=caller, spec=spec
    )
    read = CredentialRead.model_validate(issued.credential, from_attributes=True)
    return CredentialIssued(**read.model_dump(), secret=issued.secret)


@router.delete(
    "/credentials/{credential_id}", status_code=204, responses=problems(401, 403, 404)
)
def revoke_credential(credential_id: str, caller: Caller, services: Services) -> Response:
    account.revoke_credential(
        db=services.db, clock=services.clock, caller=caller, credential_id=credential_id
    )
    return Response(status_code=204)


# ---- sessions ----------------------------------------------------------------------------


@router.get("/sessions", response_model=list[SessionRead], responses=problems(401))
def list_sessions(caller: Caller, services: Services) -> list[SessionRead]:
    found = account.sessions(db=services.db, clock=services.clock, caller=caller)
    return [SessionRead.model_validate(s, from_attributes=True) for s in found]


@router.delete(
    "/sessions/{session_id}", status_code=204, responses=problems(401, 403, 404)
)
def end_session(session_id: str, caller: Caller, services: Services) -> Response:
    account.end_session(
        db=services.db, clock=services.clock, caller=caller, session_id=session_id
    )
    return Response(status_code=204)


@router.post("/sessions/revoke-all", status_code=204, responses=problems(401, 403))
def log_out_everywhere(caller: Caller, services: Services) -> Response:
    """Every session of yours ends, this one too."""
    account.end_every_session(db=services.db, clock=services.clock, caller=caller)
    return Response(status_code=204)
