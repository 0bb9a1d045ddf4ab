"""The web console: tenant pages under /console, the admin console under /admin.

Server-rendered Jinja2 pages with the project's own CSS and JS, calling the same driver and
services as the API. See docs/console.md for the pages, the security choices and i18n.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import WebSocketRoute

from sws.bootstrap import Container
from sws.errors import NotFound
from sws.web.console.context import AnyVisit
from sws.web.console.routing import ConsoleRoute
from sws.web.console.state import STATIC, build_state
from sws.web.console.terminal import ConsoleTokens
from sws.web.console.views import (
    activity,
    admin,
    admin_billing,
    admin_dead_letters,
    admin_identity,
    admin_netfilter,
    alarms,
    auth,
    billing,
    cdn,
    compute,
    connect,
    help,
    loadbalancers,
    monitoring,
    netfilter,
    resources,
    search,
    storage,
    volumes,
)

STATIC_PATH = "/console/static"
_fallback = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@_fallback.get("/console/{rest:path}")
@_fallback.get("/admin/{rest:path}")
def not_found(current: AnyVisit, rest: str) -> Response:
    raise NotFound(current.gettext("There is no such page."))


def install(app: FastAPI) -> None:
    """Mount the console's static files and routers on `app` (after the API's routers)."""
    app.router.routes.append(WebSocketRoute(connect.SOCKET_PATH, connect.serial))
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="console-static")
    for router in (
        auth.router, compute.router, connect.router, resources.router, monitoring.router,
        alarms.router, billing.router, loadbalancers.router, storage.router, netfilter.router,
        cdn.router, volumes.router, activity.router, search.router, help.router,
        admin.router, admin_identity.router, admin_billing.router, admin_netfilter.router,
        admin_dead_letters.router,
        _fallback,
    ):
        app.include_router(router)


def bind(app: FastAPI, container: Container) -> None:
    """The console's state for `container`: its templates, session secret and connect tokens."""
    app.state.console = build_state(container)
    app.state.console_tokens = ConsoleTokens(container.clock)
