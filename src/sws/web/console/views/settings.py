"""Panel settings: the user's language and time zone, e-mail change, two-factor
authentication, API credentials and sessions. The same use cases as /v1/account."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Response

from sws.errors import SWSError
from sws.identity import account, email_change, two_factor
from sws.identity.account_model import CredentialSpec, SettingsChange
from sws.identity.email_change import EmailChangeConfig
from sws.identity.model import Principal
from sws.identity.two_factor import Gate, Proof
from sws.web.console import i18n
from sws.web.console.context import LANG_COOKIE, AnyVisit, PostedVisit, Session, TenantPost
from sws.web.console.context import Tenant as TenantVisit
from sws.web.console.render import TZ_COOKIE, attempt, page, redirect, set_cookie
from sws.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=255)]
Secret = Annotated[str, Form(max_length=1024)]
BACK = "/console/settings"
CONSOLE_LOCALE = {"en": "en", "zh": "zh_CN"}


def remember_preferences(current: Any, response: Response, principal: Principal) -> None:
    """Set the console's language and time-zone cookies from the user's own settings."""
    try:
        found = account.settings(db=current.container.db, caller=principal)
    except SWSError:
        return  # a user of another identity provider keeps the browser's choices
    if found.language_chosen:
        set_cookie(current, response, LANG_COOKIE, CONSOLE_LOCALE[found.language])
    if found.timezone_chosen:
        set_cookie(current, response, TZ_COOKIE, found.timezone)


def _gate(s: Session) -> Gate:
    c = s.container
    return Gate(db=c.db, clock=c.clock, throttle=c.login_throttle)


def _page(s: Session, **shown: Any) -> Response:
    """The page; `shown` holds what appears once (a new secret, recovery codes)."""
    c = s.container
    once = {"enrolment": None, "recovery_codes": None, "issued": None, **shown}
    return page(
        s, "settings.html",
        account=account.settings(db=c.db, caller=s.principal),
        two_factor=two_factor.status(db=c.db, user_id=s.principal.user_id),
        credentials=account.credentials(db=c.db, clock=c.clock, caller=s.principal),
        sessions=account.sessions(db=c.db, clock=c.clock, caller=s.principal),
        timezones=sorted(available_timezones()), **once,
    )


def _refused(s: Session, error: SWSError) -> Response:
    return redirect(s, BACK, [("error", s.gettext(error.detail))])


@router.get(BACK)
def settings(s: TenantVisit) -> Response:
    return _page(s)


@router.post(BACK)
def save(s: TenantPost, language: Text = "", timezone: Text = "") -> Response:
    change = SettingsChange(language=language or None, timezone=timezone or None)
    c = s.container
    try:
        found = account.change_settings(db=c.db, clock=c.clock, caller=s.principal, change=change)
    except SWSError as error:
        return _refused(s, error)
    locale = CONSOLE_LOCALE[found.language]
    saved = i18n.translations(locale).gettext("Settings saved.")  # in the language just chosen
    response = redirect(s, BACK, [("ok", saved)])
    set_cookie(s, response, LANG_COOKIE, locale)
    set_cookie(s, response, TZ_COOKIE, found.timezone)
    return response


@router.post(f"{BACK}/email")
def change_email(s: TenantPost, email: Text = "", password: Secret = "") -> Response:
    config = s.container.front_door.config
    settings_ = EmailChangeConfig(public_url=config.public_url, ttl=config.verify_ttl,
                                  blocked_domains=config.blocked_domains)
    proof = Proof(password=password, address=s.client_ip)
    done = s.gettext("We sent a link to %(email)s. Your address changes when it is opened.",
                     email=email.strip())
    return attempt(s, BACK, done, lambda: email_change.request_change(
        gate=_gate(s), caller=s.principal, proof=proof, new_email=email.strip(),
        config=settings_), reason=lambda e: s.gettext(e.detail))


@router.post(f"{BACK}/2fa")
def enrol(s: TenantPost, password: Secret = "") -> Response:
    proof = Proof(password=password, address=s.client_ip)
    try:
        enrolment = two_factor.enrol(gate=_gate(s), caller=s.principal, proof=proof)
    except SWSError as error:
        return _refused(s, error)
    return _page(s, enrolment=enrolment)


@router.post(f"{BACK}/2fa/confirm")
def confirm(s: TenantPost, code: Text = "") -> Response:
    try:
        codes = two_factor.confirm(gate=_gate(s), caller=s.principal, code=code.strip(),
                                   address=s.client_ip)
    except SWSError as error:
        return _refused(s, error)
    return _page(s, recovery_codes=codes)


@router.post(f"{BACK}/2fa/disable")
def disable(s: TenantPost, password: Secret = "", code: Text = "") -> Response:
    proof = Proof(password=password, code=code.strip(), address=s.client_ip)
    return attempt(s, BACK, s.gettext("Two-factor authentication is off."),
                   lambda: two_factor.disable(gate=_gate(s), caller=s.principal, proof=proof),
                   reason=lambda e: s.gettext(e.detail))


@router.post(f"{BACK}/2fa/recovery-codes")
def regenerate(s: TenantPost, password: Secret = "", code: Text = "") -> Response:
    proof = Proof(password=password, code=code.strip(), address=s.client_ip)
    try:
        codes = two_factor.regenerate(gate=_gate(s), caller=s.principal, proof=proof)
    except SWSError as error:
        return _refused(s, error)
    return _page(s, recovery_codes=codes)


@router.post(f"{BACK}/credentials")
def create_credential(s: TenantPost, name: Text = "", days: Text = "90") -> Response:
    c = s.container
    try:
        spec = CredentialSpec(name=name.strip(), days=int(days) if days.isdigit() else 0)
        issued = account.create_credential(db=c.db, clock=c.clock, caller=s.principal, spec=spec)
    except SWSError as error:
        return _refused(s, error)
    return _page(s, issued=issued)


@router.post(BACK + "/credentials/{credential_id}/revoke")
def revoke_credential(s: TenantPost, credential_id: str) -> Response:
    c = s.container
    return attempt(s, BACK, s.gettext("Credential revoked."), lambda: account.revoke_credential(
        db=c.db, clock=c.clock, caller=s.principal, credential_id=credential_id))


@router.post(BACK + "/sessions/{session_id}/revoke")
def end_session(s: TenantPost, session_id: str) -> Response:
    c = s.container
    return attempt(s, BACK, s.gettext("Session ended."), lambda: account.end_session(
        db=c.db, clock=c.clock, caller=s.principal, session_id=session_id))


@router.post(f"{BACK}/sessions/revoke-all")
def log_out_everywhere(s: TenantPost) -> Response:
    c = s.container
    account.end_every_session(db=c.db, clock=c.clock, caller=s.principal)
    return redirect(s, "/console/login", [("ok", s.gettext("You have logged out everywhere."))])


@router.get("/console/account/email/confirm")
def email_confirm_form(current: AnyVisit, token: str = "") -> Response:
    return page(current, "email_confirm.html", token=token[:256], done=None, error=None)


@router.post("/console/account/email/confirm")
def email_confirm(current: PostedVisit, token: Text = "") -> Response:
    c = current.container
    try:
        email = email_change.confirm_change(db=c.db, clock=c.clock, token=token)
    except SWSError as error:
        return page(current, "email_confirm.html", code=error.status, token="", done=None,
                    error=current.gettext(error.detail))
    return page(current, "email_confirm.html", token="", done=email, error=None)
