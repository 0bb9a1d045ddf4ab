"""Who is visiting: the `Visit` (locale, CSRF, flash) and, once logged in, the `Session`.

FastAPI dependencies build them from cookies; routes receive them ready to use.
"""

from __future__ import annotations

import gettext as gettext_module
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Form, Request

from sws.bootstrap import Container
from sws.drivers.base import CloudDriver
from sws.errors import Forbidden, Unauthorized
from sws.identity import roles
from sws.identity import service as identity
from sws.identity.model import Principal
from sws.regions import service as sponsor_regions
from sws.regions.model import SponsorRegion
from sws.web import deps
from sws.web.console import i18n, security
from sws.web.console.i18n import N_
from sws.web.console.state import ConsoleState

SESSION_COOKIE = "sws_session"
ANON_COOKIE = "sws_anon"
LANG_COOKIE = "sws_lang"
REGION_COOKIE = "sws_region"
FLASH_COOKIE = "sws_flash"


EXPIRED = N_("The form has expired or did not come from this site. Reload it and try again.")


class LoginRequired(Exception):
    """No live session: the visitor is sent to the login page."""


class AdminOnly(Forbidden):
    """A member opened the admin console."""


class RoleForbidden(Forbidden):
    """The visitor's role (identity.roles) does not include what the request does."""


ROLE_REFUSED = N_("Your role in this tenant does not allow this.")
ROLE_REFUSALS = {
    "team": N_("only the tenant's owner manages its users"),
    "admin": N_("The admin console needs the admin role."),
}


class FormExpired(Forbidden):
    """A POST whose CSRF token is missing or does not match the session."""


@dataclass(kw_only=True)
class Visit:
    """Any visitor, logged in or not."""

    request: Request
    console: ConsoleState
    container: Container
    locale: str
    session_value: str
    flash: list[tuple[str, str]] = field(default_factory=list)
    new_anon: str | None = None  # set on the response when the visitor had no anonymous cookie

    @property
    def translations(self) -> gettext_module.NullTranslations:
        return i18n.translations(self.locale)

    def gettext(self, message: str, **values: Any) -> str:
        text = self.translations.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: Any) -> str:
        text = self.translations.ngettext(singular, plural, count)
        return text % {"num": count, **values}

    @property
    def csrf(self) -> str:
        return security.csrf_token(self.console.secret, self.session_value)

    @property
    def is_https(self) -> bool:
        forwarded = self.request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
        return self.request.url.scheme == "https" or forwarded.lower() == "https"

    @property
    def client_ip(self) -> str:
        return self.request.client.host if self.request.client else "unknown"


@dataclass(kw_only=True)
class Session(Visit):
    """A logged-in visitor: the principal behind the session token and the chosen region."""

    principal: Principal
    tenant_name: str
    region: str
    regions: list[SponsorRegion]  # open to tenants, with their sponsors

    @property
    def driver(self) -> CloudDriver:
        return self.container.driver(self.region)

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id


def console_state(request: Request) -> ConsoleState:
    found = request.app.state.console
    assert isinstance(found, ConsoleState)
    return found


def visit(request: Request) -> Visit:
    console = console_state(request)
    anon = request.cookies.get(ANON_COOKIE)
    new_anon = None if anon else secrets.token_urlsafe(24)
    locale = i18n.choose(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    return Visit(
        request=request, console=console, container=deps.container(request), locale=locale,
        session_value=request.cookies.get(SESSION_COOKIE) or anon or str(new_anon),
        flash=security.decode_flash(console.secret, request.cookies.get(FLASH_COOKIE)),
        new_anon=new_anon,
    )


def _principal(container: Container, token: str) -> Principal:
    if not token:
        raise LoginRequired()
    try:
        return container.auth.validate(secret=token)
    except Unauthorized as error:
        raise LoginRequired() from error


def session(request: Request) -> Session:
    base = visit(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    principal = _principal(base.container, token)
    action = roles.action_of(request.method, request.url.path)
    if not roles.allows(principal.role, action):
        raise RoleForbidden(ROLE_REFUSALS.get(action.area, ROLE_REFUSED))
    regions = sponsor_regions.tenant_regions(db=base.container.db, settings=base.container.settings)
    region = _region(request.cookies.get(REGION_COOKIE, ""), regions, base.container)
    tenant = identity.get_tenant(db=base.container.db, tenant_id=principal.tenant_id)
    fields = {name: getattr(base, name) for name in Visit.__dataclass_fields__}
    return Session(
        **fields, principal=principal, tenant_name=tenant.name, region=region,
        regions=regions,
    )


def _region(chosen: str, regions: list[SponsorRegion], container: Container) -> str:
    """The region picked (at login or in the switcher) if tenants may use it, else the first
    open one; the default region when the admin closed them all."""
    names = [r.name for r in regions]
    if chosen in names:
        return chosen
    return names[0] if names else container.default_region


def admin_session(current: Annotated[Session, Depends(session)]) -> Session:
    if not current.principal.is_admin:
        raise AdminOnly(N_("The admin console needs the admin role."))
    return current


def _checked(current: Visit, csrf: str) -> None:
    if not security.csrf_valid(current.console.secret, current.session_value, csrf):
        raise FormExpired(EXPIRED)


def posted_visit(
    current: Annotated[Visit, Depends(visit)], csrf: Annotated[str, Form()] = ""
) -> Visit:
    _checked(current, csrf)
    return current


def posted_session(
    current: Annotated[Session, Depends(session)], csrf: Annotated[str, Form()] = ""
) -> Session:
    _checked(current, csrf)
    return current


def posted_admin(
    current: Annotated[Session, Depends(admin_session)], csrf: Annotated[str, Form()] = ""
) -> Session:
    _checked(current, csrf)
    return current


AnyVisit = Annotated[Visit, Depends(visit)]
PostedVisit = Annotated[Visit, Depends(posted_visit)]
Tenant = Annotated[Session, Depends(session)]
TenantPost = Annotated[Session, Depends(posted_session)]
Admin = Annotated[Session, Depends(admin_session)]
AdminPost = Annotated[Session, Depends(posted_admin)]
