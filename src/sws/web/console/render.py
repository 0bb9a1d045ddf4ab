"""Responses of the console: pages from templates, redirects with flash messages, and cookies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sws import __version__
from sws.errors import SWSError
from sws.web.console import hooks, humane, i18n, notices, security
from sws.web.console.context import (
    ANON_COOKIE,
    FLASH_COOKIE,
    Session,
    Visit,
)
from sws.web.console.menu import ADMIN_MENU, TENANT_MENU

R = TypeVar("R", bound=Response)
ONE_YEAR = 365 * 24 * 3600
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


TZ_COOKIE = "sws_tz"  # the user's time zone, set at login and by Panel settings


def _context(visit: Visit, values: dict[str, Any]) -> dict[str, Any]:
    session = visit if isinstance(visit, Session) else None
    admin_page = visit.request.url.path.startswith("/admin")
    return {
        "v": visit,
        "s": session,
        "_": visit.gettext,
        "ngettext": visit.ngettext,
        "path": visit.request.url.path,
        "menu": ADMIN_MENU if admin_page else TENANT_MENU,
        "admin_page": admin_page,
        "locales": i18n.LOCALES,
        "version": __version__,
        "when": _clock_text(visit.request.cookies.get(TZ_COOKIE)),
        "money": lambda value: i18n.money(value, visit.locale),
        "unit_money": lambda value: i18n.unit_money(value, visit.locale),
        "status_text": lambda kind, raw: humane.status(visit.gettext, kind, raw),
        "humane": lambda detail: humane.message(visit.gettext, detail),
        "number": lambda value: i18n.number(value, visit.locale),
        # the header's balance on tenant pages; called by base.html, so one read per page
        "header_balance": (lambda: hooks.balance(session)) if session and not admin_page
        else None,
        # the header's bell: unread notices (sws.activity), two indexed reads per page
        "header_notices": (lambda: notices.unread(session)) if session and not admin_page
        else None,
        # the header's tenant switcher, for a user who joined other tenants' teams
        "header_tenants": (lambda: hooks.tenants(session)) if session and not admin_page
        else None,
        **values,
    }


def _clock_text(zone: str | None) -> Callable[[datetime | None], str]:
    """How this page writes a time: in the user's time zone (Panel settings), UTC by default.
    The zone is resolved once per page; a month's graph writes thousands of times, the same
    moments in each of its graphs, so each moment is written once per page."""
    try:
        tz = ZoneInfo(zone) if zone and zone != "UTC" else None
    except (ValueError, ZoneInfoNotFoundError):
        tz = None
    written: dict[datetime, str] = {}

    def when(moment: datetime | None) -> str:
        if not moment:
            return ""
        text = written.get(moment)
        if text is None:
            if tz is None:  # isoformat is "YYYY-MM-DD HH:MM:SS" and an offset, if any
                text = f"{moment.isoformat(' ', 'seconds')[:19]} UTC"
            else:
                text = moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")
            written[moment] = text
        return text

    return when


def page(visit: Visit, template: str, *, code: int = 200, **values: Any) -> HTMLResponse:
    """Render `template` with the shared context; the flash shown is then cleared."""
    html = visit.console.templates.get_template(template).render(_context(visit, values))
    response = HTMLResponse(html, status_code=code, headers=SECURITY_HEADERS)
    if visit.flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return finish(visit, response)


def redirect(visit: Visit, url: str, messages: list[tuple[str, str]] | None = None) -> Response:
    """A 303 to `url`, carrying `messages` (level, text) to the next page in a signed cookie."""
    response = RedirectResponse(url, status_code=303)
    if messages:
        shown = [(level, humane.message(visit.gettext, text) if level == "error" else text)
                 for level, text in messages[:20]]
        value = security.encode_flash(visit.console.secret, shown)
        set_cookie(visit, response, FLASH_COOKIE, value, max_age=60)
    return finish(visit, response)


def attempt(
    visit: Visit, back: str, done: str, work: Callable[[], object],
    reason: Callable[[SWSError], str] | None = None,
) -> Response:
    """Run one change and go back to `back` with its outcome: `done`, or why it was refused
    (`reason(error)`, by default the error's own detail)."""
    try:
        work()
    except SWSError as error:
        return redirect(visit, back, [("error", reason(error) if reason else error.detail)])
    return redirect(visit, back, [("ok", done)])


def set_cookie(
    visit: Visit, response: Response, name: str, value: str, *, max_age: int | None = ONE_YEAR
) -> None:
    """Every console cookie: HttpOnly, SameSite=Lax, and Secure when served over https."""
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
        secure=visit.is_https,
    )


def finish(visit: Visit, response: R) -> R:
    if visit.new_anon:
        set_cookie(visit, response, ANON_COOKIE, visit.new_anon)
    return response


def safe_next(target: str | None, default: str) -> str:
    """Only a path inside the console may be a redirect target, never another site."""
    if not target or not target.startswith(("/console", "/admin")) or "//" in target:
        return default
    return target.replace("\\", "")
