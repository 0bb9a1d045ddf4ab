"""Help: the API reference SWS serves offline and short task-oriented help, in the console."""

from __future__ import annotations

from fastapi import APIRouter, Response

from sws.web.console.context import Tenant
from sws.web.console.render import page
from sws.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/console/help")
def help_page(s: Tenant) -> Response:
    return page(s, "help.html")
