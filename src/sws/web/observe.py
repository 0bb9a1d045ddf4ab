"""ASGI middleware: a request id on every request (and its log lines), and latency metrics.

The id is the client's `X-Request-Id` when it is a sane token, else a new one; it is sent
back in the response's `X-Request-Id` and bound for the request's work (the mail outbox
carries it to `sws worker mail`). Latency is observed per route template, never raw path.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sws.observability import context, metrics

log = logging.getLogger("sws.http")
_HEADER = context.HEADER.lower().encode()


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope.get("headers") or ()).get(_HEADER)
        request_id = context.accept(offered.decode("latin-1") if offered else None)
        status = 500  # what the client sees if the app fails before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()),
                                      (_HEADER, request_id.encode())]
            await send(message)

        with context.bound(request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - started
                route = _template(scope)
                metrics.observe_request(route, scope["method"], status, seconds)
                log.info("%s %s %d %.1f ms", scope["method"], route, status, seconds * 1000)


def _template(scope: Scope) -> str:
    """The matched route's template (`/v1/servers/{server_id}`), or "unmatched"."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"
