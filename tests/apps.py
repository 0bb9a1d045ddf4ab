"""One SWS app per test worker and guard settings, bound to each test's container.

FastAPI compiles an app's routes on its first request: about half a CPU-second for SWS's, and
some thousand tests build an app. The routes and guards do not depend on the container, so a
worker keeps one app per `Guards` and `bind`s it to the test's container (sws.web.app.bind).
"""

from __future__ import annotations

from fastapi import FastAPI

from sws.bootstrap import Container
from sws.web.app import Guards, bind, create_app

_apps: dict[Guards, FastAPI] = {}


def app_for(container: Container) -> FastAPI:
    guards = Guards.of(container.settings)
    app = _apps.get(guards)
    if app is None:
        app = _apps[guards] = create_app(container)
    else:
        bind(app, container)
    return app
