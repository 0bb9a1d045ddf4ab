"""Console routes answer in HTML: no login sends to the login page, and every error is a page.

`ConsoleRoute` wraps each console endpoint, so an SWS error, a bad form field or an
unexpected exception becomes a friendly page with the right status, never problem+json
and never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from sws.errors import SWSError
from sws.web.console import humane
from sws.web.console.context import SESSION_COOKIE, LoginRequired, visit
from sws.web.console.i18n import N_
from sws.web.console.render import page, redirect

log = logging.getLogger("sws.web.console")
Handler = Callable[[Request], Coroutine[Any, Any, Response]]

TITLES = {
    400: N_("Bad request"), 401: N_("Please log in"), 402: N_("Insufficient funds"),
    403: N_("Forbidden"), 404: N_("Not found"), 409: N_("Conflict"),
    422: N_("Invalid input"), 429: N_("Too many attempts"), 500: N_("Something went wrong"),
    503: N_("Service unavailable"),
}
#: Titles of SWS errors that forms show as they are (see templates/launch.html).
ERROR_TITLES = (N_("Quota exceeded"), N_("Unauthorized"))


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return _to_login(request)
            except Exception as error:  # every failure becomes a page: see module docstring
                return error_page(request, error)

        return guarded


def _to_login(request: Request) -> Response:
    target = request.url.path if request.method == "GET" else ""
    query = f"?next={quote(target)}" if target not in ("", "/console/", "/console") else ""
    response = redirect(visit(request), f"/console/login{query}")
    if request.cookies.get(SESSION_COOKIE):
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _status_and_detail(request: Request, error: Exception) -> tuple[int, str | None]:
    if isinstance(error, SWSError):
        return error.status, error.detail
    if isinstance(error, RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors()]
        return 422, "; ".join(problems)
    if isinstance(error, HTTPException):
        return error.status_code, str(error.detail)
    log.exception("unexpected error on console page %s", request.url.path, exc_info=error)
    return 500, None


def error_page(request: Request, error: Exception) -> Response:
    status, detail = _status_and_detail(request, error)
    current = visit(request)
    title = current.gettext(TITLES.get(status, N_("Error")))
    if detail is None:
        detail = N_("SWS could not complete this request; it was logged.")
    detail = humane.message(current.gettext, detail)  # known details are translated
    return page(current, "error.html", code=status, title=title, detail=detail, status_code=status)
