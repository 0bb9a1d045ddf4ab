"""Log in (throttled; a second form asks for the code when the user has two-factor
authentication), log out (revokes the token), and the language and region switchers."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Response

from sws.errors import Unauthorized
from sws.identity import service as identity
from sws.identity.account_model import Client, LoginAttempt
from sws.identity.model import IssuedToken
from sws.identity.throttle import TooManyLogins
from sws.identity.two_factor import SecondFactorRequired
from sws.regions import service as regions
from sws.web.console.context import (
    LANG_COOKIE,
    REGION_COOKIE,
    SESSION_COOKIE,
    AnyVisit,
    PostedVisit,
    TenantPost,
    Visit,
)
from sws.web.console.i18n import LOCALES
from sws.web.console.render import page, redirect, safe_next, set_cookie
from sws.web.console.routing import ConsoleRoute
from sws.web.console.security import sign
from sws.web.console.views.settings import remember_preferences

TICKET_SECONDS = 300  # between a right password and its code

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=1024)]


@router.get("/")
def root(current: AnyVisit) -> Response:
    return redirect(current, "/console/")


@router.get("/console/login")
def login_form(current: AnyVisit, next: str = "") -> Response:
    return _login_page(current, next=safe_next(next, ""), error=None, name="")


def _login_page(current: Visit, *, code: int = 200, **values: object) -> Response:
    """The login form, with the sponsor regions to pick from (as StackLab's was)."""
    found = regions.tenant_regions(db=current.container.db, settings=current.container.settings)
    chosen = current.request.cookies.get(REGION_COOKIE, "")
    if chosen not in {r.name for r in found}:
        chosen = found[0].name if found else ""
    return page(current, "login.html", code=code, regions=found, chosen=chosen, **values)


@router.post("/console/login")
def login(
    current: PostedVisit, name: Text = "", password: Text = "", next: Text = "", region: Text = ""
) -> Response:
    """The password step; the region picked on the form is remembered whatever the outcome."""
    response = _password_step(current, name, password, next)
    _remember_region(current, response, region)
    return response


def _remember_region(current: Visit, response: Response, region: str) -> None:
    found = regions.tenant_regions(db=current.container.db, settings=current.container.settings)
    if region in {r.name for r in found}:
        set_cookie(current, response, REGION_COOKIE, region)


def _password_step(current: Visit, name: str, password: str, next: str) -> Response:
    container = current.container
    attempt = LoginAttempt(name=name, password=password, client=_client(current))
    try:
        issued = identity.log_in(
            auth=container.auth, throttle=container.login_throttle, attempt=attempt,
            db=container.db, clock=container.clock,
        )
    except SecondFactorRequired:
        return _second_step(current, name, next)
    except TooManyLogins as exc:
        message = current.gettext(
            "Too many failed logins for %(name)s from your address. Try again in %(seconds)s "
            "seconds.", name=name, seconds=exc.retry_after,
        )
        response = _login_refused(current, name, next, message, 429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Unauthorized:
        message = current.gettext("The user name or password is wrong, or the user is disabled.")
        return _login_refused(current, name, next, message, 401)
    return _logged_in(current, issued, next)


def _logged_in(current: Visit, issued: IssuedToken, next: str) -> Response:
    """Home (or `next`), with the session cookie and the user's own language and time zone."""
    home = "/admin/" if issued.principal.is_admin else "/console/"
    response = redirect(current, safe_next(next, home))
    lifetime = int((issued.principal.expires_at - current.container.clock.now()).total_seconds())
    set_cookie(current, response, SESSION_COOKIE, issued.secret, max_age=max(lifetime, 1))
    remember_preferences(current, response, issued.principal)
    return response


def _client(current: Visit) -> Client:
    return Client(address=current.client_ip, agent=current.request.headers.get("user-agent", ""))


def _second_step(current: Visit, name: str, next: str) -> Response:
    """The password was right: ask for the code, carrying a signed, short-lived ticket."""
    expires = int(current.container.clock.now().timestamp()) + TICKET_SECONDS
    ticket = f"{expires}.{sign(current.console.secret, 'login-2fa', f'{name}|{expires}')}"
    return page(current, "login_code.html", code=401, name=name, ticket=ticket,
                next=safe_next(next, ""), error=None)


def _ticket_valid(current: Visit, name: str, ticket: str) -> bool:
    expires, _, signature = ticket.partition(".")
    if not expires.isdigit() or int(expires) < current.container.clock.now().timestamp():
        return False
    wanted = sign(current.console.secret, "login-2fa", f"{name}|{expires}")
    return hmac.compare_digest(wanted, signature)


@router.post("/console/login/code")
def login_code(
    current: PostedVisit, name: Text = "", ticket: Text = "", code: Text = "", next: Text = ""
) -> Response:
    """The second step: the code of a user whose password was right a moment ago."""
    if not _ticket_valid(current, name, ticket):
        message = current.gettext("This login took too long. Log in again.")
        return _login_refused(current, name, next, message, 401)
    container = current.container
    attempt = LoginAttempt(name=name, password="", client=_client(current), code=code.strip())
    try:
        issued = identity.finish_login(
            auth=container.auth, throttle=container.login_throttle, attempt=attempt,
            db=container.db, clock=container.clock,
        )
    except TooManyLogins as exc:
        message = current.gettext(
            "Too many failed logins for %(name)s from your address. Try again in %(seconds)s "
            "seconds.", name=name, seconds=exc.retry_after,
        )
        return _login_refused(current, name, next, message, 429)
    except (Unauthorized, SecondFactorRequired):
        response = _second_step(current, name, next)
        return response
    return _logged_in(current, issued, next)


def _login_refused(current: Visit, name: str, next: str, message: str, status: int) -> Response:
    return _login_page(current, code=status, next=safe_next(next, ""), error=message, name=name)


@router.post("/console/logout")
def logout(current: TenantPost) -> Response:
    current.container.auth.revoke(principal=current.principal)
    bye = current.gettext("You have logged out.")
    response = redirect(current, "/console/login", [("ok", bye)])
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/console/language")
def choose_language(current: PostedVisit, locale: Text = "", next: Text = "") -> Response:
    response = redirect(current, safe_next(next, "/console/"))
    if locale in LOCALES:
        set_cookie(current, response, LANG_COOKIE, locale)
    return response


@router.post("/console/region")
def choose_region(current: TenantPost, region: Text = "", next: Text = "") -> Response:
    response = redirect(current, safe_next(next, "/console/"))
    if region in {r.name for r in current.regions}:
        set_cookie(current, response, REGION_COOKIE, region)
    return response

