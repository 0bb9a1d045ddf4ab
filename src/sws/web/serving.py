"""How `sws up` and `sws api` serve an app: uvicorn's options and a frozen start-up heap."""

from __future__ import annotations

import gc
from typing import Any

from fastapi import FastAPI

from sws.observability.logs import uvicorn_options

# SWS decides which X-Forwarded-For to believe (SWS_TRUSTED_PROXIES); uvicorn's own handling
# would believe any client of 127.0.0.1, so a local client could pick its address.
UVICORN: dict[str, Any] = {"proxy_headers": False}


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


def serve(app: FastAPI, *, host: str, port: int, log_format: str) -> None:
    """Serve `app` until the process is told to stop."""
    import uvicorn

    freeze_start_up_heap()
    uvicorn.run(app, host=host, port=port, log_level="info", **UVICORN,
                **uvicorn_options(log_format))
