"""The e2e SWS server on a real Swift region, as a process of its own (`tests.e2e.swift_rig`).

Run as `python -m tests.e2e.swift_site_server CONFIG_JSON` from the checkout's root. Its region
manages Swift through an InternalClient, which is eventlet's; in this process and never in the
pytest worker. It serves the test cloud of `tests.e2e.conftest` on a free port of 127.0.0.1
(with the real clock, plus what `settle` adds: the edges' origin signatures are checked by
Swift's clock), writes `{"url": ...}` on stdout, then obeys one JSON command a line from stdin
and answers each with `{"ok": ...}` or `{"error": traceback}`. At the end of its input it stops
serving and exits at once, without waiting for the threads eventlet's hubs keep.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sws.billing import service as billing
from sws.config import SwiftConfig
from sws.identity import service as identity
from sws.seed import SAMPLE_CATALOG
from tests.e2e.conftest import Site, build_container, serve_site
from tests.integration.docblocks import RunningClock


def load_catalog(site: Site) -> None:
    billing.load_catalog_text(
        db=site.container.db, clock=site.clock, text=SAMPLE_CATALOG.read_text()
    )


def settle(site: Site, seconds: int) -> None:
    site.settle(seconds)


def tenant_id(site: Site, name: str) -> str:
    tenants = identity.list_tenants(db=site.container.db, limit=100, marker=None)
    return next(t.id for t in tenants if t.name == name)


COMMANDS: dict[str, Callable[..., Any]] = {
    "load_catalog": load_catalog, "settle": settle, "tenant_id": tenant_id,
}


def serve(config: dict[str, str], replies: IO[str]) -> None:
    swift = SwiftConfig(
        proxy_url=config["proxy_url"],
        internal_client_conf=Path(config["internal_client_conf"]),
        auth="tempauth",
        tempauth_user=config["tempauth_user"],
        tempauth_key=config["tempauth_key"],
    )
    built = build_container(
        Path(config["home"]), RunningClock(), swift={"RegionOne": swift},
        cdn_origin_secret=config["cdn_origin_secret"],
    )
    with serve_site(*built) as site:
        answer(replies, {"url": site.url})
        for line in sys.stdin:
            command = json.loads(line)
            try:
                result = COMMANDS[command["do"]](site, **command["args"])
            except Exception:
                answer(replies, {"error": traceback.format_exc()})
            else:
                answer(replies, {"ok": result})


def answer(replies: IO[str], reply: dict[str, Any]) -> None:
    replies.write(json.dumps(reply) + "\n")
    replies.flush()


def main() -> None:
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever else prints goes to the log, not into the replies
    try:
        serve(json.loads(sys.argv[1]), replies)
    except BaseException:
        answer(replies, {"error": traceback.format_exc()})
        sys.stderr.flush()
        os._exit(1)
    sys.stderr.flush()
    os._exit(0)  # the InternalClient's thread and eventlet's hub would hold a normal exit


if __name__ == "__main__":
    main()
