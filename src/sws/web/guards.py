"""Pure ASGI guards in front of every route: the client's address, body size and /metrics.

- `ClientAddress` believes `X-Forwarded-For` only from a peer in `trusted_proxies`: it walks
  the header from the right past trusted hops and makes the first untrusted address the
  request's client. From anyone else the header is ignored, so a client cannot pick its own
  address (the login throttle and the storage firewall key on it).
- `BodyLimit` refuses a body larger than `max_body_bytes` (`max_object_bytes` for object
  uploads) with 413, from its `Content-Length` before anything reads it, or while it streams
  in, before authentication or parsing has consumed it.
- `MetricsGuard` opens `/metrics` to a bearer `metrics_token` or a client in `metrics_allow`.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sws.web.problems import problem

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
OBJECT_UPLOAD = re.compile(r"^(/v1/storage|/console)/containers/[^/]+/objects(/.+)?$")


def networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def in_networks(address: str, allowed: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in allowed)


def forwarded_client(peer: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """The client's address: the right-most `X-Forwarded-For` hop not in `trusted`, if the
    peer itself is trusted; else the peer."""
    client = peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    while hops and in_networks(client, trusted):
        hop = hops.pop()
        if not _is_ip(hop):
            break  # garbage in the chain: the last hop we could believe is the client
        client = hop
    return client


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _header(scope: Scope, name: bytes) -> str:
    values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == name]
    return ",".join(values)


class ClientAddress:
    def __init__(self, app: ASGIApp, *, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("client") and self.trusted:
            peer, port = scope["client"]
            client = forwarded_client(peer, _header(scope, b"x-forwarded-for"), self.trusted)
            scope = {**scope, "client": (client, port)}
        await self.app(scope, receive, send)


@dataclass(frozen=True, slots=True)
class BodyLimits:
    default: int
    objects: int

    def for_request(self, method: str, path: str) -> int:
        if method in ("PUT", "POST") and OBJECT_UPLOAD.match(path):
            return self.objects
        return self.default


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_request(scope["method"], scope["path"])
        declared = _header(scope, b"content-length")
        if declared and not declared.isdigit():
            await _bad_length()(scope, receive, send)
            return
        if declared and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Past the limit, answer 413 at once and tell the app the client left; whatever the
        app answers to the body it never got whole is dropped (FastAPI turns any error while
        reading a body into its own 400, so raising would not do)."""
        seen, started, refused = 0, False, False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen <= limit:
                return message
            refused = True
            if not started:
                await _too_large(limit)(scope, receive, send)
            return {"type": "http.disconnect"}

        async def watching_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except Exception:
            if not refused:
                raise  # only the app's reaction to a body cut short is ours to swallow


def _bad_length() -> JSONResponse:
    return problem(400, "Bad request", "Content-Length must be a number of bytes",
                   field="Content-Length")


def _too_large(limit: int) -> JSONResponse:
    response = problem(413, "Content too large",
                       f"the request body is larger than this route's limit of {limit} bytes",
                       field="body", limit=limit)
    response.headers["Connection"] = "close"  # the rest of the body is not read
    return response


class MetricsGuard:
    def __init__(
        self, app: ASGIApp, *, token: str | None, allowed: Sequence[Network]
    ) -> None:
        self.app = app
        self.token = token
        self.allowed = tuple(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guarded = scope["type"] == "http" and scope["path"].rstrip("/") == "/metrics"
        if guarded and not self._may_scrape(scope):
            response = problem(403, "Forbidden", "/metrics is for the operator's scrapers: "
                               "send the metrics token, or scrape from an allowed address")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _may_scrape(self, scope: Scope) -> bool:
        client = scope.get("client")
        if client and in_networks(client[0], self.allowed):
            return True
        sent = _header(scope, b"authorization")
        if self.token is None or not sent.lower().startswith("bearer "):
            return False
        return hmac.compare_digest(sent[7:].strip().encode(), self.token.encode())
