"""Alarm notifiers: HMAC-signed webhooks and e-mail; a failure raises `DeliveryFailed`.

A webhook is a POST of the JSON notification with two headers:

    X-SWS-Delivery: <delivery id, the same on every retry of one notification>
    X-SWS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

A receiver recomputes the HMAC over the raw body with the alarm action's secret, compares in
constant time, and refuses a `t` too far from its own clock (replays).

Before each POST the URL's host is resolved and checked (`targets.WebhookTargets`: no
loopback, link-local, private or internal addresses unless allowed), the connection goes to
the address that passed, and redirects are not followed. The whole POST, from connecting to
the answer's status and headers, must end within the notifier's deadline: socket timeouts
bound each read, not a receiver that trickles its answer a byte at a time, which would hold
the sender (and every notice behind it) and outlive the notice's claim.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sws.clock import Clock
from sws.mail.adapters import SmtpConfig, SmtpMailer
from sws.mail.model import Mail, MailFailed
from sws.mail.ports import Mailer
from sws.metering.targets import Target, TargetRefused, WebhookTargets


class DeliveryFailed(Exception):
    """A notification did not go out; the reason is the message."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: check the HMAC and that the timestamp is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    expected = signature(secret, timestamp, body)
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "sws-alarms@localhost"


class Notifiers:
    """Sends one notification by its action's kind; the clock stamps webhook signatures."""

    def __init__(
        self, *, clock: Clock, smtp: SmtpSettings, timeout: float = 5.0, deadline: float = 15.0,
        targets: Callable[[], WebhookTargets] = WebhookTargets, mailer: Mailer | None = None,
    ) -> None:
        """`timeout` bounds each connect and read, `deadline` a whole webhook POST; `targets`
        gives the webhook policy in force at each delivery; e-mail goes through `mailer`
        (SWS's own, see sws.mail) or, without one, over SMTP to `smtp`."""
        self._clock = clock
        self._timeout, self._deadline = timeout, deadline
        self._targets = targets
        self._mailer = mailer or SmtpMailer(
            SmtpConfig(host=smtp.host, port=smtp.port, sender=smtp.sender, timeout=timeout))

    def send(self, action: dict[str, Any], body: bytes, delivery_id: str) -> None:
        if action.get("type") == "webhook":
            self._webhook(action, body, delivery_id)
        elif action.get("type") == "email":
            self._email(action, body)
        else:
            raise DeliveryFailed(f"unknown action type {action.get('type')!r}")

    def _webhook(self, action: dict[str, Any], body: bytes, delivery_id: str) -> None:
        try:
            target = self._targets().resolve(action["url"])
        except TargetRefused as refused:
            raise DeliveryFailed(f"target refused: {refused}") from refused
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "SWS-alarms/1",
            "X-SWS-Delivery": delivery_id,
            "X-SWS-Signature": signature_header(action["secret"], timestamp, body),
        }
        status = self._post(target, body, headers)
        if not 200 <= status < 300:
            raise DeliveryFailed(f"HTTP {status} from {action['url']}")

    def _post(self, target: Target, body: bytes, headers: dict[str, str]) -> int:
        """POST to the checked address, with the URL's host for Host and TLS."""
        path = target.url.path or "/"
        path += f"?{target.url.query}" if target.url.query else ""
        connection = _pinned(target, self._timeout)
        deadline = _Deadline(connection, self._deadline)
        try:
            connection.request("POST", path, body=body, headers=headers)
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException) as error:
            if deadline.passed:
                raise DeliveryFailed(f"no answer within {self._deadline:g} s") from error
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
        else:
            if deadline.passed:  # headers cut short by the deadline read as if complete
                raise DeliveryFailed(f"no answer within {self._deadline:g} s")
            return status
        finally:
            deadline.cancel()
            connection.close()

    def _email(self, action: dict[str, Any], body: bytes) -> None:
        notice = json.loads(body)
        subject = f"[SWS alarm] {notice['alarm_name']} is {notice['current']}"
        try:
            self._mailer.send(Mail(to=action["to"], subject=subject,
                                   text=json.dumps(notice, indent=2)))
        except MailFailed as error:
            raise DeliveryFailed(str(error)) from error


class _Deadline:
    """Cuts `connection` off once `seconds` have passed: a shutdown ends a blocked read."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.passed = False
        self._connection = connection
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def _cut(self) -> None:
        self.passed = True
        sock = self._connection.sock  # None until connected: the connect timeout bounds that
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to `address`, whatever the host name resolves to now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to `address`, verifying the certificate for the URL's host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def _pinned(target: Target, timeout: float) -> http.client.HTTPConnection:
    if target.url.scheme == "https":
        return _PinnedHTTPS(target, timeout)
    return _PinnedHTTP(target, timeout)
