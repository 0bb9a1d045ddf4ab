"""The FastAPI application factory; routes stay thin and errors become problem+json."""

from __future__ import annotations

from fastapi import FastAPI

from sws import __version__
from sws.bootstrap import Container
from sws.web import problems
from sws.web.api import admin, auth, compute, identity


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="SWS",
        version=__version__,
        description="The public-cloud layer for OpenStack.",
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
    )
    app.state.container = container
    problems.install(app)
    for router in (
        auth.router, identity.router, identity.admin_router, compute.router, admin.router
    ):
        app.include_router(router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
