"""Log in (throttled), log out (revokes the token), and the language and region switchers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response

from sws.errors import Unauthorized
from sws.identity import service as identity
from sws.identity.throttle import TooManyLogins
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

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=1024)]


@router.get("/")
def root(current: AnyVisit) -> Response:
    return redirect(current, "/console/")


@router.get("/console/login")
def login_form(current: AnyVisit, next: str = "") -> Response:
    return page(current, "login.html", next=safe_next(next, ""), error=None, name="")


@router.post("/console/login")
def login(current: PostedVisit, name: Text = "", password: Text = "", next: Text = "") -> Response:
    container = current.container
    try:
        issued = identity.log_in(
            auth=container.auth, throttle=container.login_throttle, name=name,
            password=password, address=current.client_ip,
        )
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
    home = "/admin/" if issued.principal.is_admin else "/console/"
    response = redirect(current, safe_next(next, home))
    lifetime = int((issued.principal.expires_at - current.container.clock.now()).total_seconds())
    set_cookie(current, response, SESSION_COOKIE, issued.secret, max_age=max(lifetime, 1))
    return response


def _login_refused(current: Visit, name: str, next: str, message: str, status: int) -> Response:
    return page(
        current, "login.html", code=status, next=safe_next(next, ""), error=message, name=name
    )


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
    if region in current.container.regions:
        set_cookie(current, response, REGION_COOKIE, region)
    return response

