"""Stripe's webhook signature scheme (`t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`), also used
by the embedded test provider, with the timestamp judged by SWS's Clock."""

from __future__ import annotations

from datetime import datetime

import stripe

from sws.billing.payments.model import CallbackRejected


def sign(body: bytes, secret: str, *, at: datetime) -> str:
    """The signature header for `body`, exactly as Stripe builds it."""
    return str(stripe.WebhookSignature.generate_signature_header(
        body.decode("utf-8"), secret, timestamp=int(at.timestamp())))


def verify(body: bytes, header: str | None, secret: str, *, now: datetime,
           tolerance: int) -> None:
    """Raise CallbackRejected unless `header` signs `body` with `secret`, within `tolerance`
    seconds of `now` (either way: a timestamp from the future is as suspect as a stale one)."""
    try:
        stripe.WebhookSignature.verify_header(body, header, secret, tolerance=None)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        raise CallbackRejected(f"bad signature: {str(error)[:120]}") from None
    timestamp = _timestamp(str(header))
    if abs(now.timestamp() - timestamp) > tolerance:
        raise CallbackRejected(f"stale timestamp {timestamp}: outside {tolerance} s of now")


def _timestamp(header: str) -> int:
    """The `t=` element of a header verify_header accepted (so one is there)."""
    return int(next(p[2:] for p in header.split(",") if p.startswith("t=")))
