"""The `t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">` signature scheme Stripe documents,
for the embedded test provider (which must run without the `stripe` package), and the check of
a signed timestamp against SWS's Clock that every provider shares."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sws.billing.payments.model import CallbackRejected


def sign(body: bytes, secret: str, *, at: datetime) -> str:
    """The signature header for `body`, exactly as Stripe builds one."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={_mac(body, secret, timestamp)}"


def verify(body: bytes, header: str | None, secret: str, *, now: datetime,
           tolerance: int) -> None:
    """Raise CallbackRejected unless `header` signs `body` with `secret` within tolerance."""
    parts = _parts(header)
    timestamp = parts.get("t", [""])[0]
    if not timestamp.isdigit() or not parts.get("v1"):
        raise CallbackRejected("bad signature: no t= and v1= in the signature header")
    expected = _mac(body, secret, int(timestamp))
    if not any(hmac.compare_digest(expected, given) for given in parts["v1"]):
        raise CallbackRejected("bad signature: no v1 signature matches the body")
    check_timestamp(header, now=now, tolerance=tolerance)


def check_timestamp(header: str | None, *, now: datetime, tolerance: int) -> None:
    """Refuse a signature more than `tolerance` seconds from `now`, either way: a timestamp
    from the future is as suspect as a stale one. (Stripe's SDK reads the system time.)"""
    found = _parts(header).get("t", [""])[0]
    if not found.isdigit():
        raise CallbackRejected("bad signature: no timestamp")
    if abs(now.timestamp() - int(found)) > tolerance:
        raise CallbackRejected(f"stale timestamp {found}: outside {tolerance} s of now")


def _mac(body: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _parts(header: str | None) -> dict[str, list[str]]:
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    return parts
