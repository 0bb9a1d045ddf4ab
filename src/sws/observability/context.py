"""The request id of the work in hand: set by the API per request, by workers per job."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

HEADER = "X-Request-Id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_current: ContextVar[str | None] = ContextVar("sws_request_id", default=None)


def accept(offered: str | None) -> str:
    """The client's id when it is a sane token (8-128 of [A-Za-z0-9._:-]), else a new one."""
    if offered and _VALID.match(offered):
        return offered
    return uuid.uuid4().hex


def current() -> str | None:
    return _current.get()


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Work inside the block (and its log lines) carries `request_id`."""
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)
