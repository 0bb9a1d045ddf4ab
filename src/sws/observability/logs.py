"""Log lines as JSON (SWS_LOG_FORMAT=json) or for humans; both carry the request id."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from sws.observability import context

HUMAN = "%(asctime)s %(name)s %(levelname)s %(message)s"


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id of the work that logged it (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = context.current()
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or context.current(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at each line (a test may swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """StreamHandler's constructor sets it; the live `sys.stderr` wins."""


def configure(log_format: str = "human", level: int = logging.INFO) -> None:
    """Send the root logger's lines to stderr in `log_format` ("json" or "human"); called
    again, it replaces its own handler and leaves any other (a test runner's) alone."""
    handler = _Stderr()
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter(HUMAN))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def uvicorn_options(log_format: str) -> dict[str, Any]:
    """uvicorn.run's logging options: its own set-up for humans; for JSON, ours (and the
    `sws.http` line of each request stands for uvicorn's access log)."""
    if log_format != "json":
        return {}
    configure("json")
    return {"log_config": None, "access_log": False}
