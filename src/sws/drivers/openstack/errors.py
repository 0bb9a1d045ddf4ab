"""OpenStack SDK and HTTP failures as SWS errors: a clear message, the right 4xx, never a 500.

Nova's own words reach the user: "Quota exceeded for instances: Requested 1, but already used
10 of 10 instances" is a 403 `QuotaExceeded`, "No valid host was found" a 409 `Conflict`.
A cloud that cannot be reached, refuses SWS's own credentials or fails with a 5xx is a 503
`Unavailable`, which says which service failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sws.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    QuotaExceeded,
    SWSError,
    Unavailable,
)

_QUOTA_WORDS = ("quota", "limit exceeded", "maximum number")


def from_status(status: int | None, details: str, *, what: str) -> SWSError:
    """The SWS error for an OpenStack HTTP answer; `what` names the thing asked for."""
    message = details.strip() or f"{what}: the cloud answered {status}"
    if status == 404:
        return NotFound(message if details.strip() else f"{what} not found")
    if status == 409:
        return Conflict(message)
    if status == 413 or (status == 403 and _is_quota(message)):
        return QuotaExceeded(message)
    if status == 403:
        return Forbidden(message)
    if status in (400, 422):
        return Invalid(message)
    if status == 401:
        return Unavailable(f"the cloud refused SWS's own credentials while asking for {what}")
    if status is not None and 400 <= status < 500:
        return Invalid(message)
    return Unavailable(f"the cloud failed while asking for {what} ({status}): {message}")


def _is_quota(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _QUOTA_WORDS)


def from_exception(exc: Exception, *, what: str) -> SWSError:
    """Map an openstacksdk / keystoneauth1 exception (or anything else) to an SWS error."""
    from keystoneauth1 import exceptions as ks
    from openstack import exceptions as sdk

    if isinstance(exc, SWSError):
        return exc
    if isinstance(exc, sdk.HttpException):
        status = exc.status_code
        return from_status(status, _details(exc), what=what)
    if isinstance(exc, ks.http.HttpError):
        return from_status(exc.http_status, exc.message or "", what=what)
    if isinstance(exc, ks.ClientException):
        return Unavailable(f"the cloud is unreachable while asking for {what} ({exc})")
    if isinstance(exc, sdk.SDKException):
        return Unavailable(f"the cloud could not answer for {what}: {exc}")
    return Unavailable(f"the cloud driver failed while asking for {what}: {type(exc).__name__}")


def _details(exc: Exception) -> str:
    details = getattr(exc, "details", None)
    if isinstance(details, str) and details.strip():
        return details
    return ""


@contextmanager
def translating(what: str) -> Iterator[None]:
    """Run an SDK call; whatever it raises leaves as an SWS error about `what`."""
    try:
        yield
    except SWSError:
        raise
    except Exception as exc:  # the SDK raises many kinds; each is mapped, none escapes raw
        raise from_exception(exc, what=what) from exc
