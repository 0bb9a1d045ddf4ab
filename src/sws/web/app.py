"""The FastAPI application factory; routes stay thin and errors become problem+json."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError

from sws import __version__
from sws.billing import unrated
from sws.bootstrap import Container
from sws.config import Settings
from sws.errors import Unavailable
from sws.web import console, deps, guards, observe, openapi, problems, serving
from sws.web.api import account as account_api
from sws.web.api import admin, audit, auth, compute, identity
from sws.web.api import billing as billing_api
from sws.web.api import cdn as cdn_api
from sws.web.api import cdn_traffic as cdn_traffic_api
from sws.web.api import community as community_api
from sws.web.api import invoices as invoices_api
from sws.web.api import loadbalancer as loadbalancer_api
from sws.web.api import members as members_api
from sws.web.api import metering as metering_api
from sws.web.api import netfilter as netfilter_api
from sws.web.api import payments as payments_api
from sws.web.api import quotas as quotas_api
from sws.web.api import regions as regions_api
from sws.web.api import signup as signup_api
from sws.web.api import storage as storage_api
from sws.web.api import tags as tags_api
from sws.web.api import volumes as volumes_api
from sws.web.console.views import community as community_console
from sws.web.console.views import members as members_console
from sws.web.console.views import payments as payments_console
from sws.web.console.views import quotas as quotas_console
from sws.web.console.views import regions as regions_console
from sws.web.console.views import settings as settings_console
from sws.web.console.views import signup as signup_console
from sws.web.console.views import tags as tags_console

STATIC = Path(__file__).parent / "static"
DOCS_STATIC = "/v1/docs/static"


def create_app(container: Container) -> FastAPI:
    """The API and the console over `container`; its guards take their settings from it."""
    app = FastAPI(
        title="SWS",
        version=__version__,
        description="The public-cloud layer for OpenStack. Conventions: docs/api.md.",
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # `DELETE .../rules/` is a 404, never a 307 to another URL
        dependencies=[Depends(deps.known_query)],
    )
    bind(app, container)
    problems.install(app)
    openapi.install(app)
    _docs(app)
    for router in (
        auth.router, identity.router, identity.admin_router, compute.router, admin.router,
        audit.router,
    ):
        app.include_router(router)
    app.include_router(netfilter_api.admin_router)
    app.include_router(netfilter_api.router)
    for router in (metering_api.router, metering_api.admin_router, metering_api.prometheus_router):
        app.include_router(router)
    app.include_router(billing_api.router)
    app.include_router(billing_api.admin_router)
    app.include_router(loadbalancer_api.router)
    app.include_router(loadbalancer_api.admin_router)
    app.include_router(cdn_api.router)
    app.include_router(cdn_api.admin_router)
    app.include_router(cdn_traffic_api.router)
    app.include_router(cdn_traffic_api.admin_router)
    app.include_router(storage_api.router)
    app.include_router(volumes_api.router)
    app.include_router(tags_api.router)
    app.include_router(invoices_api.router)  # before payments: /v1/payments/bank-transfer
    app.include_router(payments_api.router)
    app.include_router(payments_api.admin_router)
    app.include_router(signup_api.router)
    app.include_router(members_api.router)
    app.include_router(quotas_api.router)
    app.include_router(quotas_api.admin_router)
    app.include_router(community_api.router)
    app.include_router(community_api.admin_router)
    app.include_router(regions_api.router)
    app.include_router(regions_api.admin_router)
    app.include_router(account_api.router)
    app.include_router(signup_api.admin_router)
    app.include_router(payments_console.router)  # before the console's catch-all 404
    app.include_router(signup_console.router)
    app.include_router(members_console.router)
    app.include_router(members_console.accept_router)
    app.include_router(members_console.tenant_router)
    app.include_router(quotas_console.router)
    app.include_router(quotas_console.admin_router)
    app.include_router(community_console.router)
    app.include_router(community_console.admin_router)
    app.include_router(regions_console.router)
    app.include_router(regions_console.admin_router)
    app.include_router(settings_console.router)
    app.include_router(tags_console.router)
    console.install(app)
    _guard(app, Guards.of(container.settings))

    app.state.draining = threading.Event()

    @app.get("/healthz", tags=["health"], responses={503: {"description": "Draining"}})
    def healthz(request: Request) -> JSONResponse:
        """200 while the process takes requests; 503 once it was told to stop and drains."""
        if serving.draining(request.app).is_set():
            return JSONResponse({"status": "draining", "version": __version__}, 503)
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/readyz", tags=["health"])
    def readyz(request: Request) -> JSONResponse:
        return _readiness(deps.container(request))

    return app


def bind(app: FastAPI, container: Container) -> None:
    """Point `app` at `container`: every route and page reads its container from `app.state`.

    The test suite binds one app per worker to each test's container: FastAPI compiles an
    app's routes on its first request (about half a CPU-second for SWS's), so an app per test
    cost the suite minutes. Only an app built with the same `Guards` may be rebound.
    """
    app.state.container = container
    console.bind(app, container)


def _docs(app: FastAPI) -> None:
    """Swagger UI at /v1/docs from files SWS ships (static/swagger-ui): no CDN, works offline."""
    app.mount(DOCS_STATIC, StaticFiles(directory=STATIC / "swagger-ui"), name="docs-static")

    @app.get("/v1/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/v1/openapi.json", title="SWS API",
            swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_STATIC}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )


def _readiness(container: Container) -> JSONResponse:
    """503 while the database does not answer. Billing warnings (an empty price catalog,
    unrated usage) are listed with status "warning" but keep the API ready: it works; the
    bills need the operator."""
    try:
        warnings = unrated.readiness(db=container.db) if container.db.answers() else None
    except (SQLAlchemyError, Unavailable):  # it went away between the two
        warnings = None
    if warnings is None:
        body = {"status": "unavailable", "checks": {"database": "unreachable"}}
        return JSONResponse(body, status_code=503)
    checks = {"database": "ok", "billing": warnings or "ok"}
    status = "warning" if warnings else "ok"
    return JSONResponse({"status": status, "version": __version__, "checks": checks})


@dataclass(frozen=True, slots=True)
class Guards:
    """The settings the ASGI guards are built with, fixed for the app's life."""

    metrics_token: str | None
    metrics_allow: tuple[str, ...]
    max_body_bytes: int
    max_object_bytes: int
    trusted_proxies: tuple[str, ...]

    @classmethod
    def of(cls, settings: Settings) -> Guards:
        return cls(
            metrics_token=settings.metrics_token, metrics_allow=tuple(settings.metrics_allow),
            max_body_bytes=settings.max_body_bytes, max_object_bytes=settings.max_object_bytes,
            trusted_proxies=tuple(settings.trusted_proxies),
        )


def _guard(app: FastAPI, spec: Guards) -> None:
    """The ASGI guards; added last, the client address is settled first (outermost)."""
    app.add_middleware(guards.MetricsGuard, token=spec.metrics_token,
                       allowed=guards.networks(spec.metrics_allow))
    limits = guards.BodyLimits(default=spec.max_body_bytes, objects=spec.max_object_bytes)
    app.add_middleware(guards.BodyLimit, limits=limits)
    app.add_middleware(guards.ClientAddress, trusted=guards.networks(spec.trusted_proxies))
    app.add_middleware(observe.RequestObserver)  # outermost: every answer has a request id
