"""A worker's own small HTTP server: `/metrics`, `/healthz` and `/readyz` on one port.

Workers have no API; `--metrics-port` starts this on a daemon thread (127.0.0.1 unless
told otherwise). `/readyz` is 503 while the database does not answer.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sws import __version__
from sws.db.engine import Database
from sws.observability.metrics import CONTENT_TYPE, Exporter


class WorkerEndpoints:
    """What the worker's port answers; the HTTP plumbing stays in `serve`."""

    def __init__(self, *, exporter: Exporter, db: Database, role: str) -> None:
        self.exporter, self.db, self.role = exporter, db, role

    def answer(self, path: str) -> tuple[int, str, str]:
        """(status, content type, body) for a GET of `path`."""
        if path == "/metrics":
            return 200, CONTENT_TYPE, self.exporter.text(http=False)
        if path == "/healthz":
            return 200, "application/json", _json(status="ok", role=self.role,
                                                    version=__version__)
        if path == "/readyz":
            ready = self.db.answers()
            checks = {"database": "ok" if ready else "unreachable"}
            return (200 if ready else 503), "application/json", _json(
                status="ok" if ready else "unavailable", role=self.role, checks=checks)
        return 404, "application/json", _json(status="not found")


def _json(**body: object) -> str:
    return json.dumps(body)


def serve(endpoints: WorkerEndpoints, *, host: str, port: int) -> ThreadingHTTPServer:
    """Start answering on host:port in a daemon thread; `shutdown()` the result to stop."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = endpoints.answer(self.path.split("?", 1)[0])
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes are not worth a log line each."""

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"sws-{endpoints.role}-metrics",
                     daemon=True).start()
    return server
