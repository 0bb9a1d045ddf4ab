"""The SWS error hierarchy: every failure a user can cause is one of these, never a 500."""

from __future__ import annotations


class SWSError(Exception):
    """Root of every error SWS raises on purpose; `field` names the input at fault, if any."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(SWSError):
    status = 404
    title = "Not found"


class Conflict(SWSError):
    status = 409
    title = "Conflict"


class Duplicate(Conflict):
    """A unique key the transaction wrote was taken first, often by a racing request: the
    database layer raises it for the database's integrity error, so callers name the clash."""


class Contended(SWSError):
    """The database gave up on a lock (a deadlock, a lock or serialisation timeout): worth
    another try."""

    status = 503
    title = "Service unavailable"


class Forbidden(SWSError):
    status = 403
    title = "Forbidden"


class Unauthorized(SWSError):
    status = 401
    title = "Unauthorized"


class Invalid(SWSError):
    status = 422
    title = "Invalid input"


class QuotaExceeded(SWSError):
    """Nova answers quota errors with 403; SWS keeps that status for OpenStack clients."""

    status = 403
    title = "Quota exceeded"


class InsufficientFunds(SWSError):
    status = 402
    title = "Insufficient funds"


class Unavailable(SWSError):
    status = 503
    title = "Service unavailable"
