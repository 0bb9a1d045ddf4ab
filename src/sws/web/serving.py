"""How `sws up` and `sws api` serve an app: uvicorn's options, a frozen start-up heap, and a
drain before stopping."""

from __future__ import annotations

import contextvars
import gc
import logging
import threading
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from sws.observability.logs import uvicorn_options

log = logging.getLogger(__name__)

# SWS decides which X-Forwarded-For to believe (SWS_TRUSTED_PROXIES); uvicorn's own handling
# would believe any client of 127.0.0.1, so a local client could pick its address.
UVICORN: dict[str, Any] = {"proxy_headers": False}


def draining(app: FastAPI) -> threading.Event:
    """Set once the process was told to stop and is draining: /healthz answers 503."""
    event: threading.Event = app.state.draining
    return event


def freeze_start_up_heap() -> int:
    """Put every object alive now (modules, routes, templates, the container) out of the
    cyclic collector's reach; returns how many objects are frozen.

    A collection of Python's oldest generation walks every tracked object: about 370,000
    once SWS has started, 0.1-0.25 s on a 2-core server, which lands on whichever request is
    running (docs/performance.md, the console). Frozen objects are never walked, and never
    freed either, which suits objects that live as long as the process."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def serve(
    app: FastAPI, *, host: str, port: int, log_format: str, drain_seconds: float = 0.0
) -> None:
    """Serve `app` until the process is told to stop (SIGTERM, SIGINT), draining first for
    `drain_seconds`."""
    config = uvicorn.Config(app, host=host, port=port, log_level="info", **UVICORN,
                            **uvicorn_options(log_format))
    server = DrainingServer(config, draining(app), drain_seconds)
    freeze_start_up_heap()
    server.run()


class DrainingServer(uvicorn.Server):
    """uvicorn's server, which on the first stop signal keeps serving for `seconds` while
    /healthz fails, so the load balancer in front takes the process out of its pool before
    it closes its connections: a request sent on a connection the process was closing would
    fail, and a POST is not tried again elsewhere. A second signal stops at once."""

    def __init__(
        self, config: uvicorn.Config, draining: threading.Event, seconds: float
    ) -> None:
        super().__init__(config)
        self._draining, self._seconds = draining, seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._seconds <= 0 or self._draining.is_set():
            super().handle_exit(sig, frame)
            return
        self._draining.set()
        # A signal lands in whatever context is current, a request's among them: log it in
        # a fresh one, or the line would carry that request's id.
        contextvars.Context().run(
            log.info, "draining for %.1f s before stopping: /healthz answers 503", self._seconds)
        stop = threading.Timer(self._seconds, super().handle_exit, (sig, frame))
        stop.daemon = True
        stop.start()
